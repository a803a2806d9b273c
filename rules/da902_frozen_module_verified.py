from detaudit.rule import Violation, rule

from ._training import buffers_word, intent_sources, module_evidence


@rule(code="DA902", name="frozen-module-verified", severity="info", tier="training",
      needs=("freeze_intents", "frozen_state"))
def frozen_module_verified(ctx):
    """A frozen module is proved bitwise unchanged by the training run.

    ## What it does
    The other side of DA901: when every compared parameter and normalization buffer of a
    module a freeze intent names is bit for bit what it was at the start of training
    (``DetAuditHook``: since before the first iteration; ``detaudit logs``: the last
    checkpoint against ``load_from``), records that as evidence, with the counts, what was
    compared and how. When ``DetAuditHook`` saw gradients reach the module's parameters, the
    message says that only a zero learning rate kept them fixed.

    ## Why is this bad?
    It is not: this is information, so that a report (and a dashboard reading it) carries the
    proof that a stage-2 backbone is the stage-1 backbone, not only the absence of a
    complaint. Its severity is ``info``; ``--fail-on info`` would fail on it.

    ## Example
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
    load_from = 'work_dirs/stage1/latest.pth'
    ```

    ## Use instead
    ```python
    # nothing to change; --ignore DA902 hides the proof
    ```
    """
    frozen = ctx.frozen_state
    for state in frozen.modules:
        if state.changed or state.params + state.buffers == state.missing_params + state.missing_buffers:
            continue  # changed (DA901), or nothing could be compared
        compared = f"all {state.params - state.missing_params} parameters"
        if state.buffers:
            compared += f" and {state.buffers - state.missing_buffers} {buffers_word(state)}"
        note = ""
        if state.missing:
            note = f" ({len(state.missing)} tensor(s) absent from one side were not compared)"
        if state.with_gradient:
            note += (f"; but {len(state.with_gradient)} of its parameters received gradients: only a learning "
                     "rate of exactly 0 keeps them fixed")
        yield Violation(
            message=f"{state.label}: {compared} are bitwise identical between {frozen.reference} and "
                    f"{frozen.current} ({intent_sources(state)} it is frozen){note}",
            key_path=state.key_path, module_path=state.module, evidence=module_evidence(frozen, state))


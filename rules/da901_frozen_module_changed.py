from detaudit.rule import Violation, rule

from ._training import buffers_word, intent_sources, module_evidence


@rule(code="DA901", name="frozen-module-changed", severity="error", tier="training",
      needs=("freeze_intents", "frozen_state"))
def frozen_module_changed(ctx):
    """A module that should be frozen changed during training.

    ## What it does
    Compares every parameter of a module that a freeze intent names (``lr_mult=0``,
    ``frozen_stages``, a freeze hook, ``--expect-frozen``) and the running statistics of its
    normalization layers, bit for bit, between the start of training and now. Inside
    training, ``DetAuditHook`` digests each tensor before the first iteration and again
    after iteration ``check_iter`` (and every ``interval``), on every process; after
    training, ``detaudit logs`` compares the ``load_from`` checkpoint (else the run's first
    checkpoint) with the run's last checkpoint, tensor by tensor. Other buffers (queues,
    momentum copies) are not compared.

    ## Why is this bad?
    The recipe says the module keeps the weights it started from, and it did not: a stage-2
    fine-tune drifts away from the stage-1 features it was meant to build on, and results
    are reported for a model that was not trained as described. ``lr_mult=0`` is the usual
    cause: it holds only while the group's learning rate is exactly 0, and a scheduler floor
    (``CosineAnnealingLR``'s ``eta_min``) lifts it after the first epoch; BatchNorm layers in
    train mode move their statistics from the first iteration.

    ## Example
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-6, by_epoch=True)]
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
    custom_hooks = [dict(type='DetAuditHook')]   # proves it during training
    ```
    """
    frozen = ctx.frozen_state
    for state in frozen.modules:
        if not state.changed:
            continue
        parts = []
        if state.changed_params:
            parts.append(f"{len(state.changed_params)} of {state.params} parameters "
                         f"({state.changed_numel:,} of {state.numel:,} elements)")
        else:
            parts.append(f"none of its {state.params} parameters")
        parts.append(f"{len(state.changed_buffers)} of {state.buffers} {buffers_word(state)}")
        yield Violation(
            message=f"{state.label}: {' and '.join(parts)} changed between {frozen.reference} and "
                    f"{frozen.current}, although {intent_sources(state)} it is frozen",
            key_path=state.key_path, module_path=state.module,
            evidence=module_evidence(frozen, state), fix=_fix(state))


def _fix(state) -> str:
    lr_zero = any(s.startswith("lr_mult=0") for s in state.sources)
    if lr_zero and state.changed_params:
        now = f" (it is {state.lr_now:.3g} now)" if state.lr_now else ""
        return (f"lr_mult=0 holds only while the group's lr is exactly 0{now}: a param_scheduler floor such as "
                f"eta_min, or a warmup, moves it; set requires_grad=False on {state.module} (a ResNet: "
                "frozen_stages=4) and norm_eval=True")
    if state.changed_buffers and not state.changed_params:
        return f"keep the normalization layers of {state.module} in eval mode (norm_eval=True)"
    return (f"set requires_grad=False on {state.module} (a ResNet: frozen_stages=4) and keep its normalization "
            "layers in eval mode (norm_eval=True)")

from detaudit.rule.checkpoints import describe_mismatches, top_prefixes
from detaudit.rule import FactUnavailable
from detaudit.rule import Violation, rule

# Below this fraction (of the model's parameter and buffer elements, or of a top-level module
# the checkpoint has tensors for) the checkpoint is not what this model was trained from.
MIN_COVERAGE = 0.5


@rule(code="DA203", name="load-from-low-coverage", severity="error", tier="checkpoint", needs=("checkpoint",))
def load_from_low_coverage(ctx):
    """The ``load_from`` checkpoint covers too little of the model: prefix or architecture mismatch.

    ## What it does
    Reads the checkpoint on the CPU, applies mmengine's key revision (the ``state_dict``
    entry, a leading ``module.`` stripped) and matches it against the built model's
    ``state_dict()``. Reports, with the covered/total tensors, the most common missing and
    unexpected module prefixes and the shape mismatches:

    - a checkpoint that covers less than half of the model (keys under another prefix such
      as ``model.``, or a backbone-only file), with the rewrite that would make it match;
    - a top-level module (``neck``, ``roi_head``...) for which the checkpoint has tensors but
      less than half of them fit (another architecture);
    - at ``warning`` severity, shape mismatches outside class-dependent layers when the
      rest fits: those layers silently restart from random.

    A file behind ``load_from`` that is not a readable checkpoint is reported as well, and
    so is one that training's own load refuses: from torch 2.6 ``torch.load`` is weights-only
    by default, mmengine's loader does not say otherwise, and a checkpoint written by
    mmengine's Runner pickles more than tensors (``HistoryBuffer`` objects in
    ``message_hub``, numpy scalars). detaudit reads such files without running their pickled
    code; training cannot.

    ## Why is this bad?
    mmengine loads ``load_from`` non-strictly: a checkpoint whose keys do not match is
    "loaded" with a log line nobody reads, and training starts from random weights while
    everybody believes it fine-tunes the previous stage.

    ## Example
    ```python
    # saved from a wrapper that held the detector as `.model`: keys are 'model.backbone...'
    load_from = 'work_dirs/stage1/wrapped_epoch_12.pth'
    ```

    ## Use instead
    ```python
    load_from = None
    model = dict(init_cfg=dict(type='Pretrained', checkpoint='work_dirs/stage1/wrapped_epoch_12.pth',
                               prefix='model.'))
    ```

    ## References
    - mmengine ``Runner.load_checkpoint`` (``revise_keys=[(r'^module.', '')]``, ``strict=False``)
    """
    try:
        view = ctx.checkpoint
    except FactUnavailable:
        if "checkpoint" not in ctx.errors:  # no load_from, or DA201/DA205 territory: skipped
            raise
        err = ctx.errors["checkpoint"]
        yield Violation(
            message=f"load_from '{ctx.cfg.get('load_from')}' is not a readable checkpoint ({err.short()}): "
                    "training stops when it loads it",
            key_path="load_from", evidence={"exception": err.type, "detail": err.message[:300]},
            fix="point load_from at a checkpoint written by torch.save / mmengine's CheckpointHook")
        return
    if not view.keys:
        yield Violation(
            message=f"load_from '{view.source}' holds no tensors (no state_dict): it covers nothing of the model",
            key_path="load_from", evidence=view.summary(),
            fix="point load_from at a checkpoint with the model's weights")
        return

    if view.training_load_refuses:
        import torch

        shown = ", ".join(view.unsafe_globals[:4]) + (", ..." if len(view.unsafe_globals) > 4 else "")
        yield Violation(
            message=f"load_from holds pickled objects besides tensors ({shown}) that torch {torch.__version__}'s "
                    "default weights-only torch.load refuses: mmengine's Runner loads load_from without "
                    "weights_only, so training stops when it loads this file",
            key_path="load_from",
            evidence={"checkpoint": view.source, "unsafe_globals": view.unsafe_globals,
                      "torch": torch.__version__},
            fix="re-save it with tensors and plain meta only: torch.save({'state_dict': ckpt['state_dict'], "
                "'meta': {'dataset_meta': ckpt['meta']['dataset_meta']}}, path); or, for a file you trust, set "
                "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 for the training run")

    total, covered = len(view.model_keys), len(view.matched)
    if view.coverage < MIN_COVERAGE:
        yield Violation(
            message=f"load_from covers {covered} of {total} model tensors ({view.coverage:.1%} of the parameter "
                    f"and buffer elements) after mmengine's key revision{_why(view)}",
            key_path="load_from", evidence=dict(view.summary(), suggestion=view.suggestion),
            fix=_fix(view))
        return

    reported = set()
    for row in view.modules:
        if row.in_checkpoint and row.numel and row.fraction < MIN_COVERAGE:
            reported.add(row.module)
            mism = [m for m in view.mismatched if m.key.startswith(row.module + ".")]
            detail = (f"{len(mism)} have another shape in the checkpoint ({describe_mismatches(mism)})"
                      if mism else "the checkpoint's tensors for it have other names")
            yield Violation(
                message=f"{row.module}: only {row.covered} of {row.tensors} tensors ({row.fraction:.1%} of its "
                        f"elements) load from load_from; {detail}: the checkpoint was written for another "
                        "architecture",
                key_path="load_from", module_path=row.module,
                evidence=dict(view.summary(), module=row.to_dict()),
                fix=f"use a checkpoint of this architecture, or align model.{row.module} with the one it was "
                    "trained with")

    stray = [m for m in view.mismatched if not m.class_dependent and m.key.split(".", 1)[0] not in reported]
    if stray:
        modules = sorted({m.key.rsplit(".", 1)[0] for m in stray})
        yield Violation(
            message=f"{len(stray)} tensors outside class-dependent layers differ in shape from load_from and "
                    f"restart from random ({describe_mismatches(stray)})",
            key_path="load_from", module_path=modules[0] if len(modules) == 1 else None,
            severity="warning",
            evidence=dict(view.summary(), shape_mismatches=[m.to_dict() for m in stray[:20]]),
            fix="check that these layers' configuration matches the checkpoint's")


def _why(view) -> str:
    s = view.suggestion
    if s and s["rewrite"] == "strip":
        return (f": its keys start with '{s['prefix']}' where the model's do not "
                f"({s['matched']} tensors match once it is removed)")
    if s and s["rewrite"] == "add":
        return (f": it holds a '{s['prefix'].rstrip('.')}' alone, named without the prefix "
                f"({s['matched']} tensors match under '{s['prefix']}')")
    unexpected = top_prefixes(view.unexpected, limit=3)
    if unexpected:
        return "; the checkpoint's unmatched tensors are under " + ", ".join(
            f"{u['prefix']} ({u['tensors']})" for u in unexpected)
    return ""


def _fix(view) -> str:
    s = view.suggestion
    if s and s["rewrite"] == "strip":
        return (f"set load_from=None and model.init_cfg=dict(type='Pretrained', checkpoint='{view.source}', "
                f"prefix='{s['prefix']}'), or re-save the state_dict without the prefix")
    if s and s["rewrite"] == "add":
        module = s["prefix"].rstrip(".")
        return (f"set load_from=None and model.{module}.init_cfg=dict(type='Pretrained', "
                f"checkpoint='{view.source}')")
    return "point load_from at a checkpoint of this model's architecture"

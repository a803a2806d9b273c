from detaudit.rule import FactUnavailable, rule
from detaudit.rule.explain import explain, unexplained
from detaudit.rule.run import violation, where

PHASES = {"train": "loss", "val": "predict", "test": "predict", "build": "build"}


@rule(code="DA716", name="run-crash-traced-to-key", severity="error", tier="run", needs=("run_result",))
def run_crash_traced_to_key(ctx):
    """A component fails in the dry run, and the failure's numbers and names point at config keys.

    ## What it does
    For each failure of the run tier (a transform, the model in a training iteration or in
    validation, a loader), reads the failure in config words, as DA406 does for the synthetic
    pass: a result key no pipeline step produces (``gt_sem_seg`` without
    ``LoadAnnotations(with_seg=True)``, masks without ``with_mask=True``), channel counts
    against the image loading, RoI sizes against head sizes, class weights against class
    counts, ``assert`` lines against the component's own keys, and the Runner's own refusals
    (a half-set train/val/test stage, a scheduler without an optimizer: what DA836 predicts).
    The failure's own finding (DA700-DA710) stays; this one names the key to edit. When
    nothing traces a failure whose own finding names no key, an info finding says plainly that
    no config key explains it, why, and which component raised it.

    ## Why is this bad?
    ``AttributeError: 'DetDataSample' object has no attribute 'gt_sem_seg'`` in a training
    iteration of HTC means the training pipeline does not load the semantic maps; the message
    names neither the pipeline nor the step.

    ## Example
    ```python
    _base_ = 'mmdet::htc/htc_r50_fpn_1x_coco.py'
    train_dataloader = dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs')]))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True, with_seg=True),
        dict(type='PackDetInputs')]))
    ```
    """
    try:
        result = ctx.run_result
    except FactUnavailable:
        return
    seen = set()
    for failure in result.failures:
        found = explain(ctx.cfg, failure.error, PHASES.get(failure.stage, ""))
        if not found:  # a failure its own finding names no key for: say plainly that none explains it
            generic = failure.key_path in (None, "", "model")
            e = unexplained(ctx.cfg, failure.error) if failure.stage in PHASES and generic else None
            if e is not None:
                v = violation(failure, f"{e.message} ({where(failure)}: {failure.error.short()})", e.fix or "")
                v.evidence.update(e.evidence)
                v.severity = "info"
                yield v
            continue
        for e in found:
            if e.key_path in seen:
                continue
            seen.add(e.key_path)
            v = violation(failure, f"{e.message} ({where(failure)}: {failure.error.short()})", e.fix or "")
            v.key_path = e.key_path or v.key_path  # None: no key explains it, the message says why
            v.evidence.update(e.evidence)
            yield v

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import locate_build_failure
from detaudit.rule.explain import explain, unexplained
from detaudit.rule.explain_blame import blamed
from detaudit.rule.explain_channels import declared_channels


def explained(cfg, err, phase: str, what: str, fallback: bool = True, blame=None):
    """Violations for the keys that explain ``err`` (raised while ``what``); when none does (and
    ``fallback``), the config's own edits the failure comes from (``blame``: the crash_blame fact),
    else one info finding that says no key explains it, and why."""
    found = explain(cfg, err, phase)
    if not found and fallback:
        found = blamed(blame, phase)
    if not found and fallback:
        found = [e for e in [unexplained(cfg, err)] if e is not None]
    for e in found:
        yield Violation(message=f"{e.message} ({what} raised {err.short()})", key_path=e.key_path,
                        module_path=err.module, fix=e.fix,
                        evidence={**e.evidence, "exception": err.type,
                                  "detail": err.message.splitlines()[0] if err.message else "",
                                  **({"raised_at": err.where()} if err.file else {})},
                        severity="info" if e.evidence.get("fallback") else None)


@rule(code="DA405", name="build-crash-traced-to-key", severity="error", tier="build",
      needs=("build_error", "crash_blame"))
def build_crash_traced_to_key(ctx):
    """The model does not build, and the failure's names and numbers point at config keys.

    ## What it does
    When building the model raises (an ``assert`` without a message in a constructor, a
    list that is not as long as another...), reads the failure in config words: the
    ``assert`` line's ``self.<name>`` attributes and the names they derive from
    (``num_levels`` from ``strides``, ``num_ins`` from ``in_channels``) are looked up in the
    config dict of the class that raised, and reported with their values. The raw error stays
    in the evidence; DA002 reports the failure itself. When the failure's words name no key and
    the config is written on a zoo recipe, the config's own edits to that recipe are put back,
    half of them at a time, on in-memory copies, until the smallest set whose return lets the
    model build is found: those keys are reported with their value and the recipe's (a few
    builds, bounded in passes and time). When nothing traces a failure DA002 names no key for,
    an info finding says plainly that no config key explains it, why, and which component raised it.

    ## Why is this bad?
    ``AssertionError`` with no message tells the user that something is wrong, not which key
    to edit: ``num_stages=2`` with three ``bbox_head`` stages fails inside
    ``CascadeRoIHead`` on ``assert len(self.bbox_roi_extractor) == len(self.bbox_head) == self.num_stages``.

    ## Example
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(num_stages=2, stage_loss_weights=[1, 0.5]))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    # three stages, as many as bbox_head and train_cfg.rcnn have
    model = dict(roi_head=dict(num_stages=3, stage_loss_weights=[1, 0.5, 0.25]))
    ```
    """
    err = ctx.build_error
    if err is None:
        return
    named = locate_build_failure(err.message, ctx.cfg.get("model", None), "model").key_path
    # DA002 names the key itself when the failure says which (an argument, a type): no statement then
    yield from explained(ctx.cfg, err, "build", "building the model", fallback=named in (None, "", "model"),
                         blame=ctx.crash_blame)


@rule(code="DA406", name="forward-crash-traced-to-key", severity="error", tier="forward",
      needs=("predict_result", "loss_result", "received_channels", "crash_blame"))
def forward_crash_traced_to_key(ctx):
    """Predict or the loss fails, and the failure's numbers and names point at config keys.

    ## What it does
    When the synthetic forward pass raises, traces the failure to the keys that produce it:
    a convolution given another channel count than its weights take (``model.neck.in_channels``
    against the backbone's outputs, ``model.backbone.in_channels`` against the image loading and
    ``data_preprocessor.mean``), a linear layer given another feature size (an RoI extractor's
    ``output_size`` against the head's ``roi_feat_size``), a mask loss whose prediction and
    targets differ (``output_size`` upsampled against ``train_cfg.rcnn.mask_size``), a per-class
    weight list of the wrong length (``class_weight`` needs ``num_classes + 1`` entries on a
    softmax classifier), an ``assert`` comparing a component's own keys (``num_levels`` of an
    anchor generator, from ``strides``, against the feature maps it gets), a result key no
    pipeline step produces, a ``None`` operand from an unset key, a ``torch.topk`` asked for more
    candidates than the head scores (``test_cfg.max_per_img`` above a query head's ``num_queries``
    x classes: the error carries no number). When the failure's own numbers
    name no key, the channels each component received in the loss pass are read against the
    ``in_channels`` it declares (a neck declared for other widths than its backbone produces,
    wherever inside the neck the mismatch fails). DA402/DA403 report the
    failure itself; the raw error stays in this finding's evidence. When nothing in the failure
    or the received channels names a key and the config is written on a zoo recipe, the config's
    own edits are put back half at a time on in-memory copies until the smallest set whose
    return lets the pass run is found (an anchor generator given no octave scales fails as a
    convolution with no output channels: ``model.bbox_head.anchor_generator.scales_per_octave``).
    When nothing traces either pass's failure, one info finding says so plainly, why, and which
    component raised it.

    ## Why is this bad?
    ``Given groups=1, weight of size [256, 96, 1, 1], expected input[2, 128, 200, 200] to have
    96 channels, but got 128 channels instead`` says something is wrong inside FPN; the key to
    edit is ``model.neck.in_channels``, which is nowhere in the message.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(backbone=dict(_delete_=True, type='SwinTransformer', embed_dims=128,
                               depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32]),
                 neck=dict(in_channels=[96, 192, 384, 768]))
    ```

    ## Use instead
    ```python
    model = dict(..., neck=dict(in_channels=[128, 256, 512, 1024]))
    ```
    """
    failed = []
    for kind, what, read in (("predict", "predict", lambda: ctx.predict_result),
                             ("loss", "the loss", lambda: ctx.loss_result)):
        try:
            read()
            continue
        except FactUnavailable:
            err = ctx.errors.get(kind)
        if err is None:
            continue
        found = list(explained(ctx.cfg, err, kind, what, fallback=False))
        yield from found
        if found:
            return
        failed.append((err, kind, what))
    if not failed:
        return
    err, _, what = failed[0]
    # nothing in the failure's own words: what the components received, against what they declare
    for e in declared_channels(ctx.cfg, ctx.received_channels):
        yield Violation(message=f"{e.message} ({what} raised {err.short()})", key_path=e.key_path,
                        module_path=err.module, fix=e.fix,
                        evidence={**e.evidence, "exception": err.type,
                                  "detail": err.message.splitlines()[0] if err.message else ""})
        failed = []
    if failed:  # neither pass is explained: say so once, for the first
        yield from explained(ctx.cfg, *failed[0], blame=ctx.crash_blame)

from detaudit.rule import Violation, rule
from detaudit.rule.contract_table import CONTRACTS
from detaudit.rule.contracts import breaches, key_of

SOFT = ("max-iou-thresholds",)  # a deliberate choice is conceivable: reported as a warning


@rule(code="DA815", name="component-contract-violated", severity="error", tier="static", needs=())
def component_contract_violated(ctx):
    """Two components of the model disagree on something mmdet's own code requires of them.

    ## What it does
    Applies a table of contracts that mmdet 3.3 states in its source (an ``assert`` between
    arguments, a constructor docstring saying "should be True when…", or the line that relies
    on it) to the merged model config, each on the components it concerns and their
    neighbours: an IoU-family ``loss_bbox`` needs ``reg_decoded_bbox=True``; a RoI box head is
    scored with a softmax, so its ``loss_cls`` must not be a sigmoid one; a centerness loss is a
    sigmoid cross-entropy; a per-class mask head's ``CrossEntropyLoss`` sets ``use_mask=True``;
    ``loss_cls.class_weight`` has one weight per score; mask and cascade heads classify the box
    head's classes; ``stage_loss_weights`` and ``train_cfg.rcnn`` have one entry per cascade
    stage; a dense head's strides match the neck's feature levels and its ``in_channels`` the
    neck's ``out_channels``; the neck's ``in_channels`` are the backbone stages ``out_indices``
    selects; an RoI extractor's ``out_channels``, ``output_size`` and ``featmap_strides`` match
    the neck and the RoI heads; ``train_cfg.rcnn.mask_size`` is the predicted mask size;
    ``MaxIoUAssigner``'s thresholds are ordered; a Hungarian matcher's class cost uses the
    activation of ``loss_cls``; a deformable DETR's ``num_feature_levels`` is the neck's output
    count and a DETR's ``test_cfg.max_per_img`` at most the scores it ranks; SOLO strides,
    Grid R-CNN's grid size, HTC's semantic channels and PointRend's point classes match their
    neighbours; a box coder's means, stds and normalizer have four values; backbone stage
    indices exist. The finding is at the key to edit; its evidence
    names the contract and the file:line of mmdet where it is stated (``docs/contracts.md``
    lists every contract mined from mmdet and mmengine).

    ## Why is this bad?
    None of these stops the model from building with a message naming a key. The run fails
    later, in the loss or at predict, inside mmdet with an assertion or a shape error, or it
    never fails: an IoU loss between encoded deltas, sigmoid training scored with a softmax,
    boxes between the IoU thresholds taken as positives all train a worse model in silence.

    ## Example
    ```python
    model = dict(rpn_head=dict(
        bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0)))
    ```

    ## Use instead
    ```python
    model = dict(rpn_head=dict(
        bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
        reg_decoded_bbox=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0)))
    ```
    """
    model = ctx.cfg.get("model", None)
    seen = set()
    for contract, site, breach in breaches(CONTRACTS, model, ctx.cfg):
        key = key_of(site, breach)
        if (contract.name, key) in seen:
            continue
        seen.add((contract.name, key))
        why = f": {breach.why}" if breach.why else ""
        yield Violation(
            message=(f"{key} = {breach.have!r} breaks a contract of {site.path} "
                     f"({contract.says}), which expects {breach.want}{why}"),
            key_path=key,
            evidence={"contract": contract.name, "mmdet_source": contract.source, "states": contract.quote,
                      "component": site.path, "value": breach.have, "expected": breach.want,
                      "bites": contract.bites},
            fix=f"set {key} to {breach.want}",
            severity="warning" if contract.name in SOFT else None)

"""The component contracts detaudit checks (rule DA815): each one stated or relied on by a line
of mmdet 3.3 (``source``), whose breach does not stop the model from building, or stops it only
with a message that names no key: it shows later (in the loss, at predict, at test time) or
never. See :mod:`.contracts` for the fields and ``docs/contracts.md`` for the inventory."""
from __future__ import annotations

from .config import is_mapping, node_type
from .contract_assigners import coder_four_values, match_cost_vs_loss, maxiou_thresholds, sigmoid_loss
from .contract_backbones import RESNETS, neck_in_channels, resnet_frozen_range, swin_ranges
from .contracts import Breach, Contract, Site, as_list, neck_levels, neck_out_channels

M = "mmdet/models/"
IOU_LOSSES = ("IoULoss", "GIoULoss", "DIoULoss", "CIoULoss", "EIoULoss", "SIoULoss", "BoundedIoULoss")
# heads whose targets are encoded deltas unless reg_decoded_bbox (AnchorHead.loss_by_feat_single)
DENSE_ENCODING_HEADS = ("AnchorHead", "RetinaHead", "RetinaSepBNHead", "RPNHead", "GARPNHead", "GARetinaHead",
                        "GuidedAnchorHead", "PISARetinaHead", "FSAFHead", "YOLACTHead", "YOLOFHead")
SSD_HEADS = ("SSDHead", "PISASSDHead")
# RoI box heads scored by BBoxHead._predict_by_feat_single and trained by BBoxHead.loss
ROI_BOX_HEADS = ("BBoxHead", "ConvFCBBoxHead", "Shared2FCBBoxHead", "Shared4Conv1FCBBoxHead",
                 "DoubleConvFCBBoxHead", "SCNetBBoxHead")
FC_ROI_BOX_HEADS = ("Shared2FCBBoxHead", "Shared4Conv1FCBBoxHead", "ConvFCBBoxHead", "SCNetBBoxHead")
MASK_HEADS = ("FCNMaskHead", "HTCMaskHead", "SCNetMaskHead")
CASCADE_ROI_HEADS = ("CascadeRoIHead", "HTCRoIHead", "SCNetRoIHead")
CENTERNESS_HEADS = ("FCOSHead", "ATSSHead", "NASFCOSHead", "FCOSMono3DHead", "CenterNetUpdateHead")
POINT_HEADS = ("FCOSHead", "NASFCOSHead", "FoveaHead", "CenterNetUpdateHead")
MAXIOU = ("MaxIoUAssigner",)
DETR_LEVEL_DETECTORS = ("DeformableDETR", "DINO", "DDQDETR", "GroundingDINO")
DETR_DETECTORS = ("DETR", "ConditionalDETR", "DABDETR") + DETR_LEVEL_DETECTORS


def _loss(site: Site, key: str):
    loss = site.get(key)
    return loss if is_mapping(loss) else None


# --------------------------------------------------------------------------- predicates
def iou_loss_needs_decoded(site: Site):
    loss = _loss(site, "loss_bbox")
    if loss is not None and node_type(loss) in IOU_LOSSES and not site.get("reg_decoded_bbox", False):
        yield Breach("reg_decoded_bbox", site.get("reg_decoded_bbox", False), "True",
                     f"loss_bbox is {node_type(loss)}, which compares boxes, but the head regresses encoded deltas "
                     "unless reg_decoded_bbox=True: the IoU is computed between deltas")


def roi_sigmoid_scored_softmax(site: Site):
    loss = _loss(site, "loss_cls")
    if loss is not None and node_type(loss) in ("CrossEntropyLoss", "FocalLoss") and sigmoid_loss(loss):
        yield Breach("loss_cls.use_sigmoid", True, "False",
                     "the RoI box head trains num_classes + 1 sigmoid scores but scores boxes at predict with a "
                     "softmax over them (BBoxHead only honours a loss's own activation for custom_cls_channels)")


def centerness_needs_sigmoid(site: Site):
    loss = _loss(site, "loss_centerness")
    if loss is not None and node_type(loss) == "CrossEntropyLoss" and not sigmoid_loss(loss):
        yield Breach("loss_centerness.use_sigmoid", loss.get("use_sigmoid", False), "True",
                     "centerness is one channel per location: a softmax cross-entropy over one channel has no "
                     "meaning, and prediction multiplies the scores by centerness.sigmoid()")


def mask_loss_needs_use_mask(site: Site):
    loss = _loss(site, "loss_mask")
    if loss is not None and node_type(loss) == "CrossEntropyLoss" and not loss.get("use_mask", False):
        yield Breach("loss_mask.use_mask", loss.get("use_mask", False), "True",
                     "the mask head predicts one mask per class and the loss must pick the gt class's channel "
                     "(mask_cross_entropy); a plain cross-entropy fails on the (N, 28, 28) targets in the loss")


def class_weight_length(site: Site):
    loss = _loss(site, "loss_cls")
    n = site.get("num_classes")
    weights = as_list(loss.get("class_weight", None)) if loss is not None else None
    if weights is None or not isinstance(n, int) or node_type(loss) != "CrossEntropyLoss":
        return
    want = n if sigmoid_loss(loss) else n + 1
    if len(weights) != want:
        yield Breach("loss_cls.class_weight", f"{len(weights)} weights", f"{want} weights",
                     f"num_classes={n} and a {'sigmoid' if sigmoid_loss(loss) else 'softmax'} classifier give "
                     f"{want} scores; the weight list is applied to them in the loss")


def maskformer_class_weight(site: Site):
    loss = _loss(site, "loss_cls")
    things, stuff = site.get("num_things_classes"), site.get("num_stuff_classes", 0)
    weights = as_list(loss.get("class_weight", None)) if loss is not None else None
    if weights is None or not isinstance(things, int) or not isinstance(stuff, int):
        return
    if len(weights) != things + stuff + 1:
        yield Breach("loss_cls.class_weight", f"{len(weights)} weights", f"{things + stuff + 1} weights",
                     f"num_things_classes + num_stuff_classes + 1 (no object) = {things + stuff + 1} scores")


def fusion_classes_match(site: Site):
    fusion = site.get("panoptic_fusion_head")
    head = site.get("panoptic_head")
    if not (is_mapping(fusion) and is_mapping(head)):
        return
    for key in ("num_things_classes", "num_stuff_classes"):
        a, b = head.get(key, None), fusion.get(key, None)
        if isinstance(a, int) and isinstance(b, int) and a != b:
            yield Breach(f"panoptic_fusion_head.{key}", b, f"{a} (panoptic_head.{key})",
                         "the fusion head splits predicted classes into things and stuff by its own count")


def mask_head_classes(site: Site):
    box, mask = site.get("bbox_head"), site.get("mask_head")
    boxes = box if isinstance(box, (list, tuple)) else [box]
    masks = mask if isinstance(mask, (list, tuple)) else [mask]
    point = site.get("point_head")
    n = next((b.get("num_classes") for b in boxes if is_mapping(b) and isinstance(b.get("num_classes"), int)), None)
    for i, m in enumerate(masks):
        if not is_mapping(m) or m.get("class_agnostic", False) or n is None:
            continue
        k = m.get("num_classes", None)
        if isinstance(k, int) and k != n:
            key = f"mask_head.{i}.num_classes" if isinstance(mask, (list, tuple)) else "mask_head.num_classes"
            yield Breach(key, k, f"{n} (bbox_head.num_classes)",
                         "mask predictions are indexed by the box head's labels")
    k = point.get("num_classes", None) if is_mapping(point) and not point.get("class_agnostic", False) else None
    if isinstance(k, int) and n is not None and k != n:
        yield Breach("point_head.num_classes", k, f"{n} (bbox_head.num_classes)",
                     "point predictions are indexed by the box head's labels")


def cascade_stage_classes(site: Site):
    heads = site.get("bbox_head")
    if not isinstance(heads, (list, tuple)) or len(heads) < 2 or not is_mapping(heads[0]):
        return
    n = heads[0].get("num_classes")
    for i, h in enumerate(heads[1:], 1):
        if is_mapping(h) and isinstance(h.get("num_classes"), int) and isinstance(n, int) and h["num_classes"] != n:
            yield Breach(f"bbox_head.{i}.num_classes", h["num_classes"], f"{n} (bbox_head.0.num_classes)",
                         "each stage refines the boxes of the classes the previous stage scored")


def stage_loss_weights(site: Site):
    n, w = site.get("num_stages"), as_list(site.get("stage_loss_weights"))
    if isinstance(n, int) and w is not None and len(w) != n:
        yield Breach("stage_loss_weights", f"{len(w)} weights", f"{n} (num_stages)",
                     "the loss reads stage_loss_weights[stage] for each stage: fewer fail at the last stage's "
                     "loss, more are ignored")


def cascade_train_cfg(site: Site):
    n = site.get("num_stages")
    rcnn = site.at("model.train_cfg.rcnn")
    if not isinstance(n, int) or rcnn is None:
        return
    if not isinstance(rcnn, (list, tuple)):
        yield Breach("model.train_cfg.rcnn", "one dict", f"a list of {n} dicts (num_stages)",
                     "each stage reads train_cfg.rcnn[stage] when it computes its targets")
    elif len(rcnn) != n:
        yield Breach("model.train_cfg.rcnn", f"{len(rcnn)} dicts", f"{n} (num_stages)",
                     "each stage reads train_cfg.rcnn[stage] when it computes its targets")


def _strides(site: Site):
    gen = site.get("anchor_generator") or site.get("prior_generator")
    if is_mapping(gen) and as_list(gen.get("strides", None)) is not None:
        key = "anchor_generator" if is_mapping(site.get("anchor_generator")) else "prior_generator"
        return f"{key}.strides", list(gen["strides"])
    if as_list(site.get("strides")) is not None and node_type(site.node) in POINT_HEADS:
        return "strides", list(site.get("strides"))
    return None


def head_levels_vs_neck(site: Site):
    if site.slot not in ("bbox_head", "rpn_head") or site.parent_path != "model":
        return
    strides, levels = _strides(site), neck_levels(site.model)
    if strides and levels and len(strides[1]) != levels[1]:
        yield Breach(strides[0], f"{len(strides[1])} strides", f"{levels[1]} ({levels[0]})",
                     "the head makes priors for each stride and asserts one per feature level at predict "
                     "(the assert carries no message)")


def solo_levels(site: Site):
    strides, levels = as_list(site.get("strides")), neck_levels(site.model)
    if strides is not None and levels and len(strides) != levels[1]:
        yield Breach("strides", f"{len(strides)} strides", f"{levels[1]} ({levels[0]})",
                     "the head asserts one feature map per stride when it runs (no message)")


def detr_max_per_img(site: Site):
    n, top = site.get("num_queries"), site.get("test_cfg.max_per_img")
    head = site.get("bbox_head")
    loss = head.get("loss_cls") if is_mapping(head) else None
    classes = head.get("num_classes") if is_mapping(head) else None
    if not isinstance(n, int) or not isinstance(top, int) or not is_mapping(loss):
        return
    most = n * classes if sigmoid_loss(loss) and isinstance(classes, int) else n
    if top > most:
        yield Breach("test_cfg.max_per_img", top, f"at most {most} ("
                     + ("num_queries x num_classes" if most != n else "num_queries") + ")",
                     "prediction keeps the top max_per_img of that many scores (topk fails past it)")


def regress_ranges(site: Site):
    rr, st = as_list(site.get("regress_ranges")), as_list(site.get("strides"))
    if rr is not None and st is not None and len(rr) != len(st):
        yield Breach("regress_ranges", f"{len(rr)} ranges", f"{len(st)} (one per stride)",
                     "the targets assert one regress range per level of points, in the loss")


def head_in_channels(site: Site):
    if site.slot not in ("bbox_head", "rpn_head") or site.parent_path != "model":
        return
    out, have = neck_out_channels(site.model), site.get("in_channels")
    if out is None or have is None:
        return
    key, want = out
    if isinstance(have, int) and isinstance(want, int) and have != want:
        yield Breach("in_channels", have, f"{want} ({key})", "the head's first convolution takes the neck's channels")
    elif as_list(have) is not None and as_list(want) is not None and list(have) != list(want):
        yield Breach("in_channels", list(have), f"{list(want)} ({key})",
                     "one convolution per level, each taking that level's channels; zip() drops the extra levels")


def extractor_channels(site: Site):
    out = neck_out_channels(site.model)
    have = site.get("out_channels")
    if site.slot == "bbox_roi_extractor" and out and isinstance(out[1], int) and isinstance(have, int) \
            and have != out[1] and node_type(site.node) == "SingleRoIExtractor":
        yield Breach("out_channels", have, f"{out[1]} ({out[0]})",
                     "RoI features are written into a tensor of out_channels channels, from the neck's features")


def _roi_pairs(site: Site, ext: str, head: str):
    e, h = site.get(ext), site.get(head)
    es = e if isinstance(e, (list, tuple)) else [e]
    hs = h if isinstance(h, (list, tuple)) else [h]
    for i, hh in enumerate(hs):
        ee = es[i] if i < len(es) else es[-1]
        prefix = f"{head}.{i}" if isinstance(h, (list, tuple)) else head
        if is_mapping(ee) and is_mapping(hh):
            yield prefix, ee, hh


def roi_head_in_channels(site: Site):
    if is_mapping(site.get("shared_head")):
        return  # a shared head (ResLayer) between the extractor and the heads changes the channels
    for ext, head in (("bbox_roi_extractor", "bbox_head"), ("mask_roi_extractor", "mask_head")):
        for prefix, e, h in _roi_pairs(site, ext, head):
            a, b = e.get("out_channels"), h.get("in_channels")
            if isinstance(a, int) and isinstance(b, int) and a != b:
                yield Breach(f"{prefix}.in_channels", b, f"{a} ({ext}.out_channels)",
                             "the head's first layer takes the RoI features the extractor produces")


def _output_size(e):
    size = e.get("roi_layer", {}).get("output_size", None) if is_mapping(e.get("roi_layer", None)) else None
    return tuple(size) if isinstance(size, (list, tuple)) else (size, size) if isinstance(size, int) else None


def roi_feat_size(site: Site):
    for prefix, e, h in _roi_pairs(site, "bbox_roi_extractor", "bbox_head"):
        if node_type(h) not in FC_ROI_BOX_HEADS or not (h.get("num_shared_fcs", 2) or h.get("num_cls_fcs", 0)):
            continue
        size, want = _output_size(e), h.get("roi_feat_size", 7)
        want = tuple(want) if isinstance(want, (list, tuple)) else (want, want)
        if size and size != want:
            yield Breach(f"{prefix}.roi_feat_size", h.get("roi_feat_size", 7),
                         f"{size[0]} (bbox_roi_extractor.roi_layer.output_size)",
                         "the first fully connected layer takes channels x roi_feat_size^2 inputs")


def grid_size(site: Site):
    for prefix, e, h in _roi_pairs(site, "grid_roi_extractor", "grid_head"):
        size, want = _output_size(e), h.get("roi_feat_size", 14)
        if size and isinstance(want, int) and size != (want, want):
            yield Breach(f"{prefix}.roi_feat_size", want, f"{size[0]} (grid_roi_extractor.roi_layer.output_size)",
                         "grid targets are drawn on a map of 4 x roi_feat_size and compared with the heatmaps "
                         "predicted from the extractor's RoI features")


def semantic_channels(site: Site):
    sem, sext, bext = site.get("semantic_head"), site.get("semantic_roi_extractor"), site.get("bbox_roi_extractor")
    if not (is_mapping(sem) and is_mapping(sext)) or "bbox" not in site.get("semantic_fusion", ("bbox", "mask")):
        return
    exts = bext if isinstance(bext, (list, tuple)) else [bext]
    box = next((e.get("out_channels") for e in exts if is_mapping(e)), None)
    if isinstance(sext.get("out_channels"), int) and isinstance(box, int) and sext["out_channels"] != box:
        yield Breach("semantic_roi_extractor.out_channels", sext["out_channels"], f"{box} (bbox_roi_extractor)",
                     "the semantic RoI features are added to the box RoI features")
    conv = sem.get("conv_out_channels", 256)
    if isinstance(conv, int) and isinstance(sext.get("out_channels"), int) and conv != sext["out_channels"]:
        yield Breach("semantic_head.conv_out_channels", conv, f"{sext['out_channels']} (semantic_roi_extractor)",
                     "the semantic head's feature map is what the semantic RoI extractor pools")


def mask_size(site: Site):
    rcnn = site.at("model.train_cfg.rcnn")
    if not is_mapping(rcnn) or "mask_size" not in rcnn:
        return
    for prefix, e, h in _roi_pairs(site, "mask_roi_extractor", "mask_head"):
        if node_type(h) not in MASK_HEADS:
            continue
        size = _output_size(e)
        up = h.get("upsample_cfg", {"type": "deconv", "scale_factor": 2})
        factor = up.get("scale_factor", 2) if is_mapping(up) and up.get("type", "deconv") else 1
        want = rcnn["mask_size"]
        want = tuple(want) if isinstance(want, (list, tuple)) else (want, want)
        if size and isinstance(factor, int) and (size[0] * factor, size[1] * factor) != want:
            yield Breach("model.train_cfg.rcnn.mask_size", rcnn["mask_size"],
                         f"{size[0] * factor} (mask_roi_extractor output {size[0]} x upsample {factor})",
                         "mask targets are cropped at mask_size and compared pixel by pixel with the predicted masks")


def roi_levels(site: Site):
    levels = neck_levels(site.model)
    strides = as_list(site.get("featmap_strides"))
    if site.slot.endswith("roi_extractor") and levels and strides is not None and len(strides) > levels[1]:
        yield Breach("featmap_strides", f"{len(strides)} strides", f"at most {levels[1]} ({levels[0]})",
                     "the extractor reads len(featmap_strides) levels; with fewer feature maps RoIs are mapped to "
                     "the levels that exist, at the wrong scale")


DEFORMABLE_LEVELS = 4  # mmcv's MultiScaleDeformableAttention(num_levels=4)


def detr_levels(site: Site):
    n = site.get("num_feature_levels")
    if not isinstance(n, int):
        return
    levels = neck_levels(site.model)
    if levels and levels[1] != n:
        yield Breach("num_feature_levels", n, f"{levels[1]} ({levels[0]})",
                     "one level embedding per feature map: more maps index past level_embed at predict")
    for part, attn in (("encoder", "self_attn_cfg"), ("decoder", "cross_attn_cfg")):
        k = site.get(f"{part}.layer_cfg.{attn}.num_levels")
        if k is None and isinstance(site.get(f"{part}.layer_cfg.{attn}"), dict) and n != DEFORMABLE_LEVELS:
            # unwritten: MultiScaleDeformableAttention's own default, 4, is what gets built
            yield Breach(f"{part}.layer_cfg.{attn}.num_levels", DEFORMABLE_LEVELS, f"{n} (num_feature_levels)",
                         "deformable attention samples num_levels feature maps (unwritten here: its default)")
        elif isinstance(k, int) and k != n:
            yield Breach(f"{part}.layer_cfg.{attn}.num_levels", k, f"{n} (num_feature_levels)",
                         "deformable attention samples num_levels feature maps")


CONTRACTS: tuple[Contract, ...] = (
    Contract("iou-loss-needs-decoded-boxes", DENSE_ENCODING_HEADS, ("loss_bbox.type", "reg_decoded_bbox"),
             M + "dense_heads/anchor_head.py:35", "It should be `True` when",
             "reg_decoded_bbox must be True when loss_bbox is an IoU-family loss", "silent", iou_loss_needs_decoded),
    Contract("ssd-iou-loss-needs-decoded-boxes", SSD_HEADS, ("loss_bbox.type", "reg_decoded_bbox"),
             M + "dense_heads/ssd_head.py:46", "It should be `True` when",
             "reg_decoded_bbox must be True when loss_bbox is an IoU-family loss", "silent", iou_loss_needs_decoded),
    Contract("roi-iou-loss-needs-decoded-boxes", ROI_BOX_HEADS, ("loss_bbox.type", "reg_decoded_bbox"),
             M + "roi_heads/bbox_heads/bbox_head.py:209", "if not self.reg_decoded_bbox",
             "reg_decoded_bbox must be True when loss_bbox is an IoU-family loss", "silent", iou_loss_needs_decoded),
    Contract("roi-sigmoid-scored-with-softmax", ROI_BOX_HEADS, ("loss_cls.use_sigmoid",),
             M + "roi_heads/bbox_heads/bbox_head.py:526", "scores = F.softmax(",
             "a RoI box head's classification loss must be a softmax one (or carry its own activation)",
             "silent", roi_sigmoid_scored_softmax),
    Contract("centerness-needs-sigmoid", CENTERNESS_HEADS, ("loss_centerness.use_sigmoid",),
             M + "dense_heads/fcos_head.py:89", "use_sigmoid=True",
             "the one-channel centerness loss must be a sigmoid cross-entropy", "silent", centerness_needs_sigmoid),
    Contract("mask-loss-needs-use-mask", MASK_HEADS, ("loss_mask.use_mask",),
             M + "losses/cross_entropy_loss.py:196", "pred_slice = pred[inds, label]",
             "a per-class mask head's CrossEntropyLoss must set use_mask=True", "loss", mask_loss_needs_use_mask),
    Contract("class-weight-length", ROI_BOX_HEADS + DENSE_ENCODING_HEADS + SSD_HEADS,
             ("loss_cls.class_weight", "num_classes"), M + "losses/cross_entropy_loss.py:31",
             "class_weight (list[float], optional): The weight for each class.",
             "loss_cls.class_weight has one weight per score: num_classes (+1 for softmax)", "loss",
             class_weight_length),
    Contract("maskformer-class-weight-length", ("MaskFormerHead", "Mask2FormerHead"),
             ("loss_cls.class_weight", "num_things_classes", "num_stuff_classes"),
             M + "dense_heads/maskformer_head.py:409", "class_weight = cls_scores.new_tensor(self.class_weight)",
             "loss_cls.class_weight has num_things_classes + num_stuff_classes + 1 weights", "loss",
             maskformer_class_weight),
    Contract("panoptic-fusion-classes", ("MaskFormer", "Mask2Former"),
             ("panoptic_head.num_things_classes", "panoptic_fusion_head.num_things_classes"),
             M + "seg_heads/panoptic_fusion_heads/maskformer_fusion_head.py:85",
             "isthing = pred_class < self.num_things_classes",
             "the fusion head's things/stuff counts equal the panoptic head's", "test", fusion_classes_match),
    Contract("mask-head-num-classes", (), ("mask_head.num_classes", "bbox_head.num_classes"),
             M + "roi_heads/mask_heads/fcn_mask_head.py:380", "mask_preds = mask_preds[range(N), labels]",
             "a class-specific mask head has the box head's num_classes", "loss", mask_head_classes,
             slots=("roi_head",)),
    Contract("cascade-stage-num-classes", CASCADE_ROI_HEADS, ("bbox_head.*.num_classes",),
             M + "roi_heads/cascade_roi_head.py:270", "for stage in range(self.num_stages):",
             "every cascade stage classifies the same classes", "silent", cascade_stage_classes),
    Contract("cascade-stage-loss-weights", CASCADE_ROI_HEADS, ("num_stages", "stage_loss_weights"),
             M + "roi_heads/cascade_roi_head.py:273", "stage_loss_weight = self.stage_loss_weights[stage]",
             "len(stage_loss_weights) == num_stages", "loss", stage_loss_weights),
    Contract("cascade-train-cfg-stages", CASCADE_ROI_HEADS, ("num_stages", "model.train_cfg.rcnn"),
             M + "roi_heads/cascade_roi_head.py:182", "rcnn_train_cfg=self.train_cfg[stage]",
             "train_cfg.rcnn is a list with one dict per stage", "loss", cascade_train_cfg),
    Contract("head-strides-vs-neck-levels", (), ("anchor_generator.strides", "strides", "model.neck.num_outs"),
             M + "task_modules/prior_generators/anchor_generator.py:251",
             "assert self.num_levels == len(featmap_sizes)",
             "the head has one prior stride per feature level the neck outputs", "predict", head_levels_vs_neck,
             slots=("bbox_head", "rpn_head")),
    Contract("solo-strides-vs-neck-levels", ("SOLOHead", "DecoupledSOLOHead", "DecoupledSOLOLightHead", "SOLOV2Head"),
             ("strides", "model.neck.num_outs"), M + "dense_heads/solo_head.py:187", "assert len(x) == self.num_levels",
             "a SOLO head has one stride per feature level the neck outputs", "predict", solo_levels),
    Contract("detr-max-per-img-vs-queries", DETR_DETECTORS, ("test_cfg.max_per_img", "num_queries"),
             M + "dense_heads/detr_head.py:616", "scores, bbox_index = scores.topk(max_per_img)",
             "test_cfg.max_per_img is at most the number of scores the head ranks", "predict", detr_max_per_img),
    Contract("regress-ranges-per-stride", ("FCOSHead", "NASFCOSHead"), ("regress_ranges", "strides"),
             M + "dense_heads/fcos_head.py:326", "assert len(points) == len(self.regress_ranges)",
             "one regress range per stride", "loss", regress_ranges),
    Contract("head-in-channels-vs-neck", (), ("in_channels", "model.neck.out_channels"),
             M + "dense_heads/anchor_head.py:121", "self.conv_cls = nn.Conv2d(self.in_channels,",
             "a dense head's in_channels are the neck's out_channels", "predict", head_in_channels,
             slots=("bbox_head", "rpn_head")),
    Contract("roi-extractor-channels-vs-neck", ("SingleRoIExtractor",), ("out_channels", "model.neck.out_channels"),
             M + "roi_heads/roi_extractors/single_level_roi_extractor.py:86",
             "rois.size(0), self.out_channels, *out_size)",
             "the RoI extractor's out_channels are the neck's", "loss", extractor_channels),
    Contract("roi-head-in-channels-vs-extractor", (), ("bbox_head.in_channels", "bbox_roi_extractor.out_channels"),
             M + "roi_heads/roi_extractors/base_roi_extractor.py:33", "self.out_channels = out_channels",
             "a RoI head's in_channels are its extractor's out_channels", "loss", roi_head_in_channels,
             slots=("roi_head",)),
    Contract("roi-output-size-vs-roi-feat-size", (),
             ("bbox_roi_extractor.roi_layer.output_size", "bbox_head.roi_feat_size"),
             M + "roi_heads/bbox_heads/convfc_bbox_head.py:154", "last_layer_dim *= self.roi_feat_area",
             "bbox_head.roi_feat_size is the extractor's output_size", "loss", roi_feat_size, slots=("roi_head",)),
    Contract("grid-roi-size", ("GridRoIHead",), ("grid_roi_extractor.roi_layer.output_size", "grid_head.roi_feat_size"),
             M + "roi_heads/mask_heads/grid_head.py:93", "self.whole_map_size = self.roi_feat_size * 4",
             "grid_head.roi_feat_size is the grid RoI extractor's output_size", "loss", grid_size),
    Contract("htc-semantic-channels", ("HybridTaskCascadeRoIHead", "HTCRoIHead", "SCNetRoIHead"),
             ("semantic_roi_extractor.out_channels", "bbox_roi_extractor.out_channels"),
             M + "roi_heads/htc_roi_head.py:104", "bbox_feats += bbox_semantic_feat",
             "the semantic RoI features have the box RoI features' channels", "loss", semantic_channels),
    Contract("mask-size-vs-mask-prediction", (), ("model.train_cfg.rcnn.mask_size", "mask_roi_extractor"),
             "mmdet/structures/mask/mask_target.py:106", "mask_size = _pair(cfg.mask_size)",
             "train_cfg.rcnn.mask_size is the predicted mask size (RoI output size x upsampling)", "loss",
             mask_size, slots=("roi_head",)),
    Contract("roi-extractor-levels-vs-neck", (), ("featmap_strides", "model.neck.num_outs"),
             M + "roi_heads/roi_extractors/single_level_roi_extractor.py:84", "num_levels = len(feats)",
             "an RoI extractor reads no more levels than the neck outputs", "silent", roi_levels,
             slots=("bbox_roi_extractor", "mask_roi_extractor")),
    Contract("coder-four-values", ("DeltaXYWHBBoxCoder", "LegacyDeltaXYWHBBoxCoder"), ("target_means", "target_stds"),
             M + "task_modules/coders/delta_xywh_bbox_coder.py:258", "stds = deltas.new_tensor(stds).unsqueeze(0)",
             "target_means and target_stds have one value per box coordinate", "loss", coder_four_values),
    Contract("tblr-normalizer-four-values", ("TBLRBBoxCoder",), ("normalizer",),
             M + "task_modules/coders/tblr_bbox_coder.py:22", "divided with when coding the coordinates. If it is a list",
             "a list normalizer has one value per box side", "loss", coder_four_values),
    Contract("max-iou-thresholds", MAXIOU, ("pos_iou_thr", "neg_iou_thr", "min_pos_iou"),
             M + "task_modules/assigners/max_iou_assigner.py:294",
             "pos_inds = max_overlaps >= self.pos_iou_thr",
             "neg_iou_thr <= pos_iou_thr and min_pos_iou <= pos_iou_thr", "silent", maxiou_thresholds),
    Contract("match-cost-vs-cls-loss", ("HungarianAssigner",), ("match_costs", "model.bbox_head.loss_cls"),
             M + "task_modules/assigners/match_cost.py:231", "pred_scores = pred_scores.softmax(-1)",
             "the matching cost scores classes with the activation loss_cls trains", "silent", match_cost_vs_loss),
    Contract("detr-feature-levels", DETR_LEVEL_DETECTORS,
             ("num_feature_levels", "model.neck.num_outs", "encoder.layer_cfg.self_attn_cfg.num_levels"),
             M + "detectors/deformable_detr.py:197",
             "lvl_pos_embed = pos_embed + self.level_embed[lvl].view(1, 1, -1)",
             "num_feature_levels equals the neck's outputs and the deformable attention's num_levels", "predict",
             detr_levels),
    Contract("neck-in-channels-vs-backbone", (), ("in_channels", "model.backbone.out_indices", "model.backbone.depth"),
             M + "necks/fpn.py:171", "assert len(inputs) == len(self.in_channels)",
             "the neck's in_channels are the channels of the backbone stages out_indices selects", "predict",
             neck_in_channels, slots=("neck",)),
    Contract("swin-stage-ranges", ("SwinTransformer",), ("out_indices", "frozen_stages", "depths"),
             M + "backbones/swin.py:756", "if i in self.out_indices:",
             "out_indices and frozen_stages are within the number of stages", "silent", swin_ranges),
    Contract("resnet-frozen-stages-range", RESNETS + ("RegNet",), ("frozen_stages", "num_stages"),
             M + "backbones/resnet.py:626", "m = getattr(self, f'layer{i}')",
             "frozen_stages is at most num_stages", "build", resnet_frozen_range),
)

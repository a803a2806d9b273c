import difflib

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts
from detaudit.rule.zoo_ranges import block_keys

# what each kind of detector reads of its train_cfg / test_cfg (mmdet 3.3's TwoStageDetector, RPN,
# SingleStageDetector and the DETRs): a two-stage one hands .rpn to its rpn_head and .rcnn to its
# roi_head; a one-stage one hands the whole block to its bbox_head
READS = {"two-stage": {"train_cfg": ("rpn", "rpn_proposal", "rcnn"), "test_cfg": ("rpn", "rcnn")},
         "rpn": {"train_cfg": ("rpn",), "test_cfg": ("rpn",)}}
STAGE_KEYS = ("rpn", "rpn_proposal", "rcnn")
ALSO_READ = ("panoptic",)  # a panoptic two-stage segmentor's fusion head reads test_cfg.panoptic
# settings a two-stage detector's test_cfg.rcnn / .rpn read, to say where a misplaced one belongs
RCNN_KEYS = ("score_thr", "max_per_img", "mask_thr_binary", "nms")
RPN_KEYS = ("nms_pre", "min_bbox_size", "max_per_img", "nms")
TRAIN_KEYS = ("assigner", "sampler", "pos_weight", "allowed_border", "debug")
# the heads whose train_cfg / test_cfg the detector overwrites with its own, per kind
# MMDetection 2.x names of test settings that 3.x reads under another name (only its
# test-time-augmentation merging still converts them)
RENAMED = {"nms_thr": "nms=dict(type='nms', iou_threshold=...)", "max_num": "max_per_img"}
CLOSE = 0.75  # how alike a key must be to one the zoo's detectors use there, to be called a misspelling
HEADS = {"two-stage": ("rpn_head", "roi_head"), "rpn": ("rpn_head",), "one-stage": ("bbox_head",)}


def _kind(d) -> str | None:
    if is_mapping(d.get("roi_head", None)) and is_mapping(d.get("bbox_head", None)):
        return None  # a roi_head beside a detector's own bbox_head: which kind it is, the shape cannot say
    if is_mapping(d.get("roi_head", None)):
        return "two-stage"
    if is_mapping(d.get("rpn_head", None)) and not is_mapping(d.get("bbox_head", None)):
        return "rpn"
    if is_mapping(d.get("bbox_head", None)):
        return "one-stage"
    return None


def _belongs(block: str, key: str) -> str:
    if block == "test_cfg" and key in RCNN_KEYS:
        return f"; the R-CNN stage reads {key} under test_cfg.rcnn" + (" (and the RPN under test_cfg.rpn)"
                                                                       if key in RPN_KEYS else "")
    if block == "test_cfg" and key in RPN_KEYS:
        return f"; the RPN reads {key} under test_cfg.rpn"
    if block == "train_cfg" and key in TRAIN_KEYS:
        return f"; the stages read {key} under train_cfg.rpn and train_cfg.rcnn"
    return ""


@rule(code="DA825", name="stage-cfg-not-read", severity="warning", tier="static", needs=())
def stage_cfg_not_read(ctx):
    """A ``train_cfg``/``test_cfg`` entry sits where the detector does not read it.

    ## What it does
    Reads how mmdet 3.3's detectors hand their ``train_cfg`` and ``test_cfg`` to their heads,
    from the shape of each detector dict of the model:

    - a two-stage detector (it has a ``roi_head`` and no ``bbox_head`` of its own; with both, the
      shape does not say and the model is left alone) reads only ``rpn``, ``rpn_proposal`` and
      ``rcnn`` (and ``panoptic``): any other key at the top of its ``test_cfg``/``train_cfg``
      (``score_thr``, ``nms``, ``assigner``...) is read by nothing, and the key under the stage
      that reads it is named;
    - ``RPN`` reads only ``rpn``;
    - a one-stage detector or a DETR (a ``bbox_head``, no ``roi_head``) hands the whole block to
      its head, which reads ``score_thr``, ``nms``, ``assigner``... at the top: ``rpn``, ``rcnn``
      or ``rpn_proposal`` blocks there are read by nothing;
    - a key inside a block that no zoo detector writes at that place and that is a 2.x name
      (``nms_thr``, ``max_num``) or a near-miss of one they do (``score_threshold`` for
      ``score_thr``): the head reads its settings with ``cfg.get`` or attribute access, and
      nothing reads the misspelled one (keys unlike any known one are left alone: a custom
      head may read them);
    - a ``train_cfg``/``test_cfg`` written on the head itself (``bbox_head``, ``rpn_head``,
      ``roi_head``) is overwritten by the detector's before the head is built.

    Every zoo config's blocks sit where their detector reads them.

    ## Why is this bad?
    The setting is silently ignored: ``model.test_cfg.score_thr = 0.3`` on a Faster R-CNN
    changes nothing (the R-CNN stage keeps ``test_cfg.rcnn.score_thr``), a Faster R-CNN test
    config copied onto RetinaNet leaves RetinaNet with no ``score_thr`` or ``nms`` of the
    user's, and a head's own ``test_cfg`` is replaced by the detector's. The user believes a
    threshold, an assigner or an NMS is in effect that is not.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(test_cfg=dict(score_thr=0.3, nms=dict(type='nms', iou_threshold=0.6)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(test_cfg=dict(rcnn=dict(score_thr=0.3, nms=dict(type='nms', iou_threshold=0.6))))
    ```

    ## Fix
    None: the finding names the block the detector reads (``test_cfg.rcnn``, the top of a one-stage
    detector's ``test_cfg``); moving the setting there may change results, so the user does it.
    """
    model = ctx.cfg.get("model", None)
    if not is_mapping(model):
        return
    for path, d in walk_dicts(model, "model"):
        if any("head" in part for part in path.split(".")):
            continue  # a head (a roi_head holds a bbox_head too), not a detector
        kind = _kind(d) if node_type(d) else None
        if kind is None:
            continue
        detector = node_type(d)
        for block in ("train_cfg", "test_cfg"):
            b = d.get(block, None)
            if not is_mapping(b):
                continue
            for key in list(b.keys()):
                if not isinstance(key, str) or key.startswith("_") or b[key] is None:
                    continue
                if kind in READS and key not in READS[kind][block] + ALSO_READ:
                    reads = ", ".join(f"{block}.{k}" for k in READS[kind][block])
                    yield Violation(
                        message=(f"{path}.{block}.{key} is read by nothing: {detector} ({kind}) reads only {reads}, "
                                 f"handing each to its stage{_belongs(block, key)}"),
                        key_path=f"{path}.{block}.{key}", evidence={"detector": detector, "kind": kind,
                                                                     "reads": list(READS[kind][block])},
                        fix=f"move the setting under the stage that should use it ({reads})")
                elif kind == "one-stage" and key in STAGE_KEYS:
                    yield Violation(
                        message=(f"{path}.{block}.{key} is read by nothing: {detector} has no RPN/R-CNN stages and hands "
                                 f"{block} whole to its bbox_head, which reads its settings at the top of {block}"),
                        key_path=f"{path}.{block}.{key}", evidence={"detector": detector, "kind": kind},
                        fix=f"move the settings of {block}.{key} up into {block} (score_thr, nms, max_per_img, "
                            "assigner...)")
        yield from _misnamed(path, d, kind)
        for head in HEADS[kind]:
            h = d.get(head, None)
            for block in ("train_cfg", "test_cfg"):
                if is_mapping(h) and is_mapping(h.get(block, None)) and len(h[block]):
                    yield Violation(
                        message=(f"{path}.{head}.{block} is overwritten: {detector} builds its {head} with its own "
                                 f"{block} (model-level), replacing this one"),
                        key_path=f"{path}.{head}.{block}", evidence={"detector": detector, "head": head},
                        fix=f"write these settings in {path}.{block}" + ("" if kind == "one-stage" else
                            f".{'rpn' if head == 'rpn_head' else 'rcnn'}"))


def _places(d, kind):
    """(place, key path, block dict) of the dicts whose keys the heads read."""
    for block in ("train_cfg", "test_cfg"):
        b = d.get(block, None)
        if not is_mapping(b):
            continue
        if kind == "one-stage":
            yield block, block, b
            continue
        for stage in STAGE_KEYS:
            st = b.get(stage, None)
            items = list(enumerate(st)) if isinstance(st, (list, tuple)) else [(None, st)]
            for i, sd in items:
                if is_mapping(sd):
                    yield f"{block}.{stage}", f"{block}.{stage}" + (f".{i}" if i is not None else ""), sd


def _misnamed(path, d, kind):
    for place, at, b in _places(d, kind):
        known = block_keys(place)
        if not known:
            continue
        for key in list(b.keys()):
            if not isinstance(key, str) or key.startswith("_") or key in known:
                continue
            if key in RENAMED:
                meant, why = RENAMED[key], "an MMDetection 2.x name"
            else:
                close = difflib.get_close_matches(key, known, n=1, cutoff=CLOSE)
                if not close:
                    continue
                meant, why = close[0], "no zoo detector writes it there"
            yield Violation(
                message=(f"{path}.{at}.{key} is read by nothing ({why}): the {place} settings are read by name, "
                         f"and this one is probably meant as {meant}"),
                key_path=f"{path}.{at}.{key}", evidence={"key": key, "meant": meant, "known": list(known)},
                fix=f"rename {key} to {meant}")

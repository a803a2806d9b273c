"""Component contracts checked on the built model (rule DA817): the contracts of
:mod:`.contract_table` whose condition is about what a class *is* (a subclass of mmdet's
``AnchorHead`` that keeps its loss, a ``BBoxHead`` that keeps its prediction), applied by
``isinstance`` to every module, so that a project's own head subclassing an mmdet one is held
to the contract its parent states. Types the static table already names are left to DA815.

mmdet is imported inside the functions; a rule reads the ``model`` fact first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .contract_table import CENTERNESS_HEADS, CONTRACTS, DENSE_ENCODING_HEADS, MASK_HEADS, ROI_BOX_HEADS, SSD_HEADS

STATIC = {c.name: c for c in CONTRACTS}


@dataclass(frozen=True)
class BuiltBreach:
    contract: str      # the name of the DA815 contract it applies
    module: str        # the module's path in the model
    key: str           # the key relative to the module's config dict
    have: Any
    want: str
    why: str


def _own(cls, name: str, owners) -> bool:
    """Whether ``cls`` uses ``owners``' implementation of method ``name`` (not an override)."""
    fn = getattr(cls, name, None)
    return fn is not None and any(fn is getattr(o, name, None) for o in owners)


def _iou_losses():
    from mmdet.models import losses

    return tuple(getattr(losses, n) for n in ("IoULoss", "GIoULoss", "DIoULoss", "CIoULoss", "EIoULoss",
                                              "SIoULoss", "BoundedIoULoss") if hasattr(losses, n))


def _decoded(name, module, types) -> Iterator[BuiltBreach]:
    from mmdet.models.dense_heads import AnchorHead, SSDHead
    from mmdet.models.roi_heads.bbox_heads import BBoxHead

    cls = type(module)
    if cls.__name__ in types:
        return
    uses = (isinstance(module, AnchorHead) and _own(cls, "loss_by_feat_single", (AnchorHead, SSDHead))
            and _own(cls, "_get_targets_single", (AnchorHead,)) or
            isinstance(module, BBoxHead) and _own(cls, "loss", (BBoxHead,)) and _own(cls, "_get_targets_single",
                                                                                        (BBoxHead,)))
    loss = getattr(module, "loss_bbox", None)
    if uses and isinstance(loss, _iou_losses()) and not getattr(module, "reg_decoded_bbox", False):
        yield BuiltBreach("iou-loss-needs-decoded-boxes", name, "reg_decoded_bbox", False, "True",
                          f"{cls.__name__} keeps {[c.__name__ for c in cls.__mro__ if c.__module__.startswith('mmdet')][0]}"
                          f"'s loss, which regresses encoded deltas unless reg_decoded_bbox=True, and loss_bbox is "
                          f"{type(loss).__name__}")


def iou_loss_needs_decoded(name, module):
    yield from _decoded(name, module, DENSE_ENCODING_HEADS + SSD_HEADS + ROI_BOX_HEADS)


def roi_sigmoid_scored_softmax(name, module):
    from mmdet.models.roi_heads.bbox_heads import BBoxHead, DIIHead

    cls = type(module)
    if cls.__name__ in ROI_BOX_HEADS or not isinstance(module, BBoxHead) or isinstance(module, DIIHead):
        return  # (SparseRoIHead scores DIIHead's output with its loss's own activation)
    if not _own(cls, "_predict_by_feat_single", (BBoxHead,)) or getattr(module, "custom_cls_channels", False):
        return
    if getattr(getattr(module, "loss_cls", None), "use_sigmoid", False):
        yield BuiltBreach("roi-sigmoid-scored-with-softmax", name, "loss_cls.use_sigmoid", True, "False",
                          f"{cls.__name__} keeps BBoxHead's prediction, a softmax over the scores its sigmoid "
                          "loss trains")


def mask_loss_needs_use_mask(name, module):
    from mmdet.models.losses import CrossEntropyLoss
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead

    cls = type(module)
    if cls.__name__ in MASK_HEADS or not isinstance(module, FCNMaskHead) or not _own(cls, "loss_and_target",
                                                                                      (FCNMaskHead,)):
        return
    loss = getattr(module, "loss_mask", None)
    if isinstance(loss, CrossEntropyLoss) and not loss.use_mask:
        yield BuiltBreach("mask-loss-needs-use-mask", name, "loss_mask.use_mask", False, "True",
                          f"{cls.__name__} keeps FCNMaskHead's loss, one mask per class picked by the gt label")


def centerness_needs_sigmoid(name, module):
    from mmdet.models.dense_heads import ATSSHead, FCOSHead
    from mmdet.models.losses import CrossEntropyLoss

    cls = type(module)
    if cls.__name__ in CENTERNESS_HEADS or not isinstance(module, (FCOSHead, ATSSHead)):
        return
    loss = getattr(module, "loss_centerness", None)
    if isinstance(loss, CrossEntropyLoss) and not loss.use_sigmoid:
        yield BuiltBreach("centerness-needs-sigmoid", name, "loss_centerness.use_sigmoid", False, "True",
                          f"{cls.__name__} predicts one centerness channel and scores it with a sigmoid")


BUILT: tuple[Callable[[str, Any], Iterator[BuiltBreach]], ...] = (
    iou_loss_needs_decoded, roi_sigmoid_scored_softmax, mask_loss_needs_use_mask, centerness_needs_sigmoid)


def built_breaches(model) -> Iterator[BuiltBreach]:
    for name, module in model.named_modules():
        if not name:
            continue
        for check in BUILT:
            try:
                yield from check(name, module)
            except (ImportError, AttributeError, TypeError):
                continue

"""Failures whose message names no key: a loss the head cannot feed, a top-k beyond the candidates."""
from detaudit.errors import ErrorInfo
from detaudit.rule.explain import explain

MISMATCH = "The size of tensor a (4) must match the size of tensor b (31) at non-singleton dimension 1"


def _cfg(loss_type):
    return {"model": {"type": "ATSS", "bbox_head": {"type": "ATSSHead", "num_classes": 80,
                                                    "loss_bbox": {"type": loss_type, "loss_weight": 2.0}},
                      "test_cfg": {"nms_pre": 1000, "max_per_img": 100}}}


def test_a_loss_type_the_zoo_never_gives_the_head_is_named():
    err = ErrorInfo("RuntimeError", MISMATCH, module="bbox_head.loss_bbox")
    (e,) = explain(_cfg("SmoothL1Loss"), err)
    assert e.key_path == "model.bbox_head.loss_bbox.type"
    assert "GIoULoss" in e.evidence["zoo_types"]


def test_a_loss_type_the_zoo_uses_with_the_head_is_not_blamed():
    err = ErrorInfo("RuntimeError", MISMATCH, module="bbox_head.loss_bbox")
    assert all(e.key_path != "model.bbox_head.loss_bbox.type" for e in explain(_cfg("GIoULoss"), err))


def test_topk_out_of_range_names_the_largest_count():
    err = ErrorInfo("RuntimeError", "selected index k out of range", module="bbox_head")
    (e,) = explain(_cfg("GIoULoss"), err)
    assert e.key_path == "model.test_cfg.nms_pre" and e.evidence["k"] == 1000

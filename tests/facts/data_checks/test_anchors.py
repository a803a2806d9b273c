"""Object sizes against anchors: the pipeline's scale, the anchor shapes, the best IoU."""
from __future__ import annotations

import numpy as np

from detaudit.facts.data_checks.anchors import anchor_heads, best_iou, check_anchors, pipeline_scale
from detaudit.facts.data_checks.model import SplitData


def _model(scales=(8,), **head):
    gen = dict(type="AnchorGenerator", scales=list(scales), ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])
    return {"type": "FasterRCNN", "rpn_head": dict(type="RPNHead", anchor_generator=gen, **head),
            "train_cfg": {"rpn": {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.7, "min_pos_iou": 0.3}}}}


def test_pipeline_scale():
    assert pipeline_scale([{"type": "LoadImageFromFile"}, {"type": "Resize", "scale": (1333, 800),
                                                            "keep_ratio": True}]) == (1333.0, 800.0)
    assert pipeline_scale([{"type": "RandomChoiceResize", "scales": [(1333, 640), (1333, 800)],
                            "keep_ratio": True}]) == (1333.0, 800.0)
    assert pipeline_scale([{"type": "Resize", "scale": (640, 640), "keep_ratio": False}]) is None
    assert pipeline_scale([{"type": "LoadImageFromFile"}]) is None


def test_anchor_shapes_and_threshold():
    (key, shapes, thr), = anchor_heads(_model())
    assert key == "model.rpn_head.anchor_generator" and thr == 0.3   # min_pos_iou: low-quality matches are on
    sides = np.sqrt(shapes[:, 0] * shapes[:, 1])
    assert np.isclose(sides.min(), 32) and np.isclose(sides.max(), 512)
    retina = {"bbox_head": {"anchor_generator": {"type": "AnchorGenerator", "octave_base_scale": 4,
                                                 "scales_per_octave": 3, "ratios": [1.0], "strides": [8, 16]}}}
    (_, shapes, thr), = anchor_heads(retina)
    assert thr == 0.1 and len(shapes) == 6 and np.isclose(shapes[:, 0].min(), 32)
    assert anchor_heads({"bbox_head": {"type": "FCOSHead"}}) == []
    strict = dict(retina, train_cfg={"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.5,
                                                  "match_low_quality": False}})
    assert anchor_heads(strict)[0][2] == 0.5
    atss = dict(retina, train_cfg={"assigner": {"type": "ATSSAssigner", "topk": 9}})
    assert anchor_heads(atss) == []


def test_best_iou_of_centred_shapes():
    iou = best_iou(np.array([[32.0, 32.0], [16.0, 16.0], [32.0, 128.0]]), np.array([[32.0, 32.0]]))
    assert np.allclose(iou, [1.0, 0.25, 0.25])


def _split(sizes, image=(1000, 1000)):
    n = len(sizes)
    boxes = np.array([[10, 10, 10 + w, 10 + h] for w, h in sizes], dtype=float)
    return SplitData("train", "train_dataloader.dataset", "CocoDataset", ("a",), image_ids=[1],
                     image_files=["x.png"], widths=np.array([image[0]], float), heights=np.array([image[1]], float),
                     box_image=np.zeros(n, dtype=np.int64), boxes=boxes, box_label=np.zeros(n, dtype=np.int64),
                     box_category=np.zeros(n, dtype=np.int64), crowd=np.zeros(n, bool), ignore=np.zeros(n, bool))


def test_small_objects_after_resize_match_no_anchor():
    pipeline = [{"type": "Resize", "scale": (500, 500), "keep_ratio": True}]   # halves a 1000x1000 image
    found = check_anchors(_split([(16, 16)] * 50 + [(140, 140)] * 50), _model(), pipeline)
    assert len(found) == 1 and found[0].evidence["unmatched"] == 50 and found[0].evidence["smaller"] == 50
    assert "at the pipeline's scale (500, 500)" in found[0].message
    assert check_anchors(_split([(140, 140)] * 50), _model(), pipeline) == []
    assert check_anchors(_split([(16, 16)] * 50), _model(scales=(2, 8)), pipeline) == []  # 4 * 2 = 8 px


def test_yolo_anchors_and_point_strides():
    from detaudit.facts.data_checks.anchors import prior_strides

    yolo = {"bbox_head": {"prior_generator": {"type": "YOLOAnchorGenerator", "strides": [32, 16],
                                              "base_sizes": [[(116, 90), (156, 198)], [(10, 13), (16, 30)]]}},
            "train_cfg": {"assigner": {"type": "GridAssigner", "pos_iou_thr": 0.5, "neg_iou_thr": 0.5,
                                       "min_pos_iou": 0}}}
    (_, shapes, thr), = anchor_heads(yolo)
    assert shapes.tolist() == [[116, 90], [156, 198], [10, 13], [16, 30]] and thr == 0.1
    fcos = {"bbox_head": {"type": "FCOSHead", "prior_generator": {"type": "MlvlPointGenerator",
                                                                  "strides": [8, 16, 32, 64, 128]}}}
    assert anchor_heads(fcos) == [] and prior_strides(fcos) == [8.0, 16.0, 32.0, 64.0, 128.0]
    assert prior_strides({"bbox_head": {"type": "FCOSHead", "strides": [8, 16]}}) == [8.0, 16.0]

"""Which loading steps read seg_map_path (DA613), without building anything."""
from __future__ import annotations

from detaudit.facts.data_checks.seg_maps import loads_maps


def test_steps_that_read_semantic_or_panoptic_maps():
    load = {"type": "LoadImageFromFile"}
    assert loads_maps([load, {"type": "LoadAnnotations", "with_bbox": True}]) is None
    assert loads_maps([load, {"type": "LoadAnnotations", "with_seg": True}]) == (1, "LoadAnnotations")
    assert loads_maps([load, {"type": "mmdet.LoadAnnotations", "with_seg": True}]) == (1, "LoadAnnotations")
    # LoadPanopticAnnotations reads the map for its masks and its semantic map, both on by default
    assert loads_maps([load, {"type": "LoadPanopticAnnotations"}]) == (1, "LoadPanopticAnnotations")
    assert loads_maps([load, {"type": "LoadPanopticAnnotations", "with_seg": False}]) == (1, "LoadPanopticAnnotations")
    assert loads_maps([load, {"type": "LoadPanopticAnnotations", "with_seg": False, "with_mask": False}]) is None
    assert loads_maps(None) is None and loads_maps(["not a step"]) is None

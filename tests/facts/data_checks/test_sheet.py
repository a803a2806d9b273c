"""The contact sheet: drawn through the config's own pipeline, read back as pixels."""
from __future__ import annotations

import numpy as np

from sheet_data import BOXES, GRAY, SIZE, dataset_cfg, write_dataset


def _build(cfg):
    from detaudit.facts.data_checks.audit import setup_registries
    from detaudit.facts.data_checks.sheet import build_with_pipeline

    setup_registries({})
    return build_with_pipeline(cfg)


def _read(path):
    import cv2

    return cv2.imread(str(path))[..., ::-1]


def _colored(pixel) -> bool:
    return int(np.abs(pixel.astype(int) - GRAY).max()) > 40


def test_boxes_are_drawn_where_the_annotations_are(tmp_path):
    from detaudit.facts.data_checks.sheet import draw_sheet

    root = write_dataset(tmp_path / "data")
    out = tmp_path / "out" / "sheet.png"
    sheet = draw_sheet(_build(dataset_cfg(root)), out, num=3, title="test")
    img = _read(out)
    assert img.shape[:2] == (sheet.height, sheet.width) and sheet.width == 3 * 320
    assert [t.index for t in sheet.tiles] == [0, 1, 2]
    for tile in sheet.tiles:
        x, y, w, h = BOXES[tile.index]
        f = tile.scale
        assert np.isclose(f, 320 / max(SIZE))
        left, top, right, bottom = tile.x + x * f, tile.y + y * f, tile.x + (x + w) * f, tile.y + (y + h) * f
        assert np.allclose(tile.boxes[0], [left, top, right, bottom], atol=1)
        mid_y = int((top + bottom) / 2)
        assert _colored(img[mid_y, int(round(left))]), f"no box edge at the left of tile {tile.index}"
        assert _colored(img[mid_y, int(round(right)) - 1]), f"no box edge at the right of tile {tile.index}"
        assert not _colored(img[mid_y, int((left + right) / 2)]), "the inside of a box stays the image"
        assert not _colored(img[tile.y + int(SIZE[0] * f) - 3, tile.x + 2]) or y * f < 3


def test_augmentations_are_applied(tmp_path):
    """A flip with probability 1 mirrors the box on the sheet."""
    from detaudit.facts.data_checks.sheet import draw_sheet

    root = write_dataset(tmp_path / "data", n_images=1)
    pipeline = [{"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True},
                {"type": "RandomFlip", "prob": 1.0}, {"type": "PackDetInputs"}]
    sheet = draw_sheet(_build(dataset_cfg(root, pipeline=pipeline)), tmp_path / "s.png", num=1)
    img = _read(tmp_path / "s.png")
    (tile,) = sheet.tiles
    x, y, w, h = BOXES[0]
    f = tile.scale
    mirrored_left = tile.x + (SIZE[1] - x - w) * f
    mid_y = int(tile.y + (y + h / 2) * f)
    assert np.isclose(tile.boxes[0][0], mirrored_left, atol=1)
    assert _colored(img[mid_y, int(round(mirrored_left))])
    assert not _colored(img[mid_y, int(round(tile.x + x * f)) - 3])


def test_histograms_below_the_grid(tmp_path):
    from detaudit.facts.data_checks.audit import check_config
    from detaudit.facts.data_checks.sheet import draw_sheet

    root = write_dataset(tmp_path / "data")
    report = check_config({"train_dataloader": {"dataset": dataset_cfg(root)}}, tmp_path)
    stats = report.splits[0].stats
    assert stats.per_class == {"thing": 3} and stats.boxes_per_image == [0, 3]
    sheet = draw_sheet(_build(dataset_cfg(root)), tmp_path / "s.png", num=2, stats=stats)
    img = _read(tmp_path / "s.png")
    grid_height = 24 + 256 + 18   # a one-line title, one row of 200x160 images at 320 px wide, its captions
    assert sheet.height > grid_height + 200 and img.shape[0] == sheet.height
    band = img[grid_height:]
    assert (band > 240).all(axis=2).mean() > 0.3            # the plots' white background
    assert ((band[..., 2] > 120) & (band[..., 0] < 120)).any()  # the blue class bars


def test_test_pipeline_boxes_in_original_coordinates_are_drawn_scaled(tmp_path):
    """mmdet's test pipelines load the annotations after the resize: the boxes stay in the original
    image's coordinates, and the sheet scales them as the image was scaled."""
    from detaudit.facts.data_checks.sheet import draw_sheet

    root = write_dataset(tmp_path / "data", n_images=1)
    pipeline = [{"type": "LoadImageFromFile"}, {"type": "Resize", "scale": (400, 320), "keep_ratio": True},
                {"type": "LoadAnnotations", "with_bbox": True},
                {"type": "PackDetInputs", "meta_keys": ("img_path", "ori_shape", "img_shape", "scale_factor")}]
    sheet = draw_sheet(_build(dataset_cfg(root, pipeline=pipeline, test_mode=True)), tmp_path / "s.png", num=1)
    (tile,) = sheet.tiles
    x, y, w, h = BOXES[0]
    assert np.isclose(tile.scale, 320 / 400)
    left = tile.x + x * 2 * tile.scale          # resized 2x, then to the tile
    assert np.isclose(tile.boxes[0][0], left, atol=1)
    img = _read(tmp_path / "s.png")
    mid_y = int(tile.y + (y + h / 2) * 2 * tile.scale)
    assert _colored(img[mid_y, int(round(left))])


def test_the_same_sheet_twice(tmp_path):
    """Random augmentations draw from seeded generators: two sheets are the same pixels."""
    from detaudit.facts.data_checks.sheet import draw_sheet

    root = write_dataset(tmp_path / "data")
    pipeline = [{"type": "LoadImageFromFile"}, {"type": "LoadAnnotations", "with_bbox": True},
                {"type": "RandomResize", "scale": (400, 320), "ratio_range": (0.5, 1.5), "keep_ratio": True},
                {"type": "RandomFlip", "prob": 0.5}, {"type": "PackDetInputs"}]
    first = draw_sheet(_build(dataset_cfg(root, pipeline=pipeline)), tmp_path / "a.png", num=3)
    state = np.random.get_state()[1][:4].tolist()
    second = draw_sheet(_build(dataset_cfg(root, pipeline=pipeline)), tmp_path / "b.png", num=3)
    assert [t.boxes for t in first.tiles] == [t.boxes for t in second.tiles]
    assert (_read(tmp_path / "a.png") == _read(tmp_path / "b.png")).all()
    assert np.random.get_state()[1][:4].tolist() == state   # the caller's generator is left as it was

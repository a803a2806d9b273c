"""What the data checks read and report: one split's annotations as arrays, and the findings.

:class:`SplitData` holds one dataset's annotations in a form every check reads the same way,
whatever the on-disk format: images (id, file, size), boxes as written and as training reads
them (``xyxy``), the category each box names, crowd/ignore flags, mask problems. A reader fills
it (:mod:`.coco` from a COCO json, :mod:`.through_dataset` through the dataset class).
:class:`DataFinding` is one problem found, with the rule code that reports it in the audit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Rule codes of the findings (rules/da605..da612 report them in the audit).
CLASSES = "DA605"       # annotation categories vs configured classes
BOXES = "DA606"         # degenerate, outside the image, xyxy written where xywh is read
MASKS = "DA607"         # masks and polygons that do not parse
DUPLICATES = "DA608"    # duplicate images and annotations
EMPTY = "DA609"         # images without annotations, what filter_cfg drops, crowd-only data
IMAGES = "DA610"        # image files missing or unreadable
ANCHORS = "DA611"       # objects no anchor can match
UNREADABLE = "DA612"    # the annotation file does not read (truncated, too large, a directory)


class AnnotationError(Exception):
    """The annotations of a split could not be read; the message says why, for the user, and
    ``fix`` what to do."""

    fix = "repair or regenerate the annotation file"


class AnnotationTooLarge(AnnotationError):
    """An annotation file larger than the checks read (refused before it is parsed)."""

    fix = ("raise DETAUDIT_DATA_MAX_BYTES if this machine has several times the file's size in free memory, "
           "or check a split of the file")


@dataclass
class DataFinding:
    code: str
    split: str              # train, val, test
    key_path: str           # the dataset key the finding is about (e.g. train_dataloader.dataset.ann_file)
    message: str
    evidence: dict = field(default_factory=dict)
    fix: str = ""


@dataclass
class SplitData:
    split: str
    key_path: str
    dataset_type: str
    classes: tuple[str, ...]                  # configured (metainfo.classes, else the type's default)
    source: str = ""                          # what was read: the annotation file, or the dataset class
    ann_file: str = ""
    test_mode: bool = False
    filter_cfg: dict | None = None
    # categories as the annotations name them, in file order: (id, name); None when the format has no list
    categories: list[tuple[object, str]] | None = None
    name_counts: dict[str, int] | None = None  # boxes per annotation name (all boxes, kept or not)
    image_ids: list = field(default_factory=list)
    image_files: list[str] = field(default_factory=list)     # resolved paths
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0))
    heights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    box_image: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))   # image index per box
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))   # xyxy, as training reads them
    raw_boxes: np.ndarray | None = None       # as written (COCO: xywh); None when the reader saw xyxy only
    box_category: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index in categories
    box_label: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))     # training's label, -1 dropped
    crowd: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ignore: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ann_ids: list | None = None
    malformed: list[str] = field(default_factory=list)   # annotations that are not boxes at all (examples)
    malformed_count: int = 0
    missing_area: int = 0                     # COCO annotations without 'area' (CocoDataset needs it)
    unknown_image_refs: int = 0               # annotations naming an image id the file does not list
    unknown_category_refs: int = 0            # annotations naming a category id the file does not list
    masks: int = 0                            # annotations carrying a mask or polygon
    has_mask: np.ndarray | None = None        # per box: it carries one
    bad_masks: list[str] = field(default_factory=list)   # examples of masks that do not parse
    bad_mask_count: int = 0
    with_mask: bool = False                   # the pipeline loads masks
    kept_images: int | None = None            # images the dataset keeps after filter_cfg (None: unknown)
    notes: list[str] = field(default_factory=list)
    read_seconds: float = 0.0

    @property
    def num_images(self) -> int:
        return len(self.image_ids)

    @property
    def num_boxes(self) -> int:
        return int(self.boxes.shape[0])

    def image_path(self, index: int) -> Path:
        return Path(self.image_files[index])

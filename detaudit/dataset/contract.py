"""What a dataset writer is given and what it returns (the contract of the ``detaudit.datasets`` group).

A writer is a callable ``writer(request: DataRequest) -> PreparedData`` registered under a dataset
type name in the ``detaudit.datasets`` entry-point group. It writes a tiny synthetic copy of the
dataset, in that dataset's own on-disk format, into ``request.folder`` (never anywhere else) and
returns the keys to set on the dataset's config dict so that the dataset reads it. A writer that
cannot serve a dataset raises :class:`Unsupported` with the reason.

A writer may carry an ``annotation_names`` attribute: a callable ``(dataset) -> dict[str, int]``
that counts the class names the raw annotations of a built dataset's samples use, including the
names the dataset skipped. The real-data survey (the run tier's survey) uses it to
say which configured classes the annotations never name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

GROUP = "detaudit.datasets"


class Unsupported(Exception):
    """No data can be prepared for this dataset; ``reason`` says why (shown to the user)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class DataRequest:
    key_path: str               # where the dataset dict sits, e.g. "train_dataloader.dataset.dataset"
    dataset_type: str           # the type name as written, e.g. "CocoDataset" or "mmdet.CocoDataset"
    dataset_class: type | None  # the class it resolves to in mmdet's/the config's registries, None if unresolved
    cfg: dict                   # the dataset's config dict (never mutated)
    classes: tuple[str, ...]    # class names the written data must use (metainfo.classes, else the class's METAINFO)
    folder: Path                # a private temporary folder to write into (never the user's data)
    base_dir: Path              # the directory training is launched from (relative data_root resolves against it)
    num_images: int = 4
    image_size: tuple[int, int] = (96, 128)   # (H, W)
    with_masks: bool = False    # write masks/polygons too (a mask model); formats that always carry them ignore it
    with_seg: bool = False      # write semantic maps too (panoptic/semantic heads); ditto
    num_classes: int | None = None  # the model's class count: names placeholders when no class names are known

    @property
    def type_name(self) -> str:
        """The type name without its registry scope (``mmdet.CocoDataset`` -> ``CocoDataset``); a
        class written as the type (``read_base()`` configs) gives its name."""
        if isinstance(self.dataset_type, type):
            return self.dataset_type.__name__
        return str(self.dataset_type).rpartition(".")[2]

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names to write: ``classes``, else ``class_0 ...`` for ``num_classes``, else one class."""
        if self.classes:
            return tuple(str(c) for c in self.classes)
        return tuple(f"class_{i}" for i in range(max(1, self.num_classes or 1)))

    @property
    def stem(self) -> str:
        """A file-name prefix naming the loader (``train``, ``val``, ...), so that datasets written
        into one folder do not overwrite each other's images."""
        head = self.key_path.split(".")[0].replace("_dataloader", "") or "data"
        return re.sub(r"[^A-Za-z0-9_-]+", "_", head)


@dataclass
class PreparedData:
    overrides: dict             # keys to set on that dataset dict so it reads this data (data_root, ann_file, ...)
    kind: str                   # "synthetic" or "real"
    samples: int                # images written (synthetic) or the cap on samples read (real)
    notes: list[str] = field(default_factory=list)
    writer: str = ""            # the entry-point name of the writer used (synthetic), "" for real data
    missing: list[str] = field(default_factory=list)   # configured paths that do not exist (real data)
    instances_ann: str = ""     # a COCO instance json of the same images, for a CocoMetric beside a panoptic one

"""Helpers of the run-data tests: build a prepared dataset through mmdet's registry and run the
loading transforms on every sample."""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path


def resolve(type_name: str):
    from mmdet.registry import DATASETS

    return DATASETS.get(type_name)


def build(request, prepared, **extra):
    """The real dataset, built through mmdet's DATASETS registry from the config dict + overrides."""
    from mmdet.registry import DATASETS

    cfg = copy.deepcopy(dict(request.cfg))
    cfg.update(copy.deepcopy(prepared.overrides))
    cfg["pipeline"] = []
    cfg.update(extra)
    return DATASETS.build(cfg)


def load_every_sample(dataset, *, masks=False, seg=False, loader=None, annotations=None):
    """Run the image loader and LoadAnnotations on every sample; returns the results."""
    from mmdet.registry import TRANSFORMS

    load = TRANSFORMS.build(loader or dict(type="LoadImageFromFile"))
    anns = TRANSFORMS.build(annotations or dict(type="LoadAnnotations", with_bbox=True, with_mask=masks,
                                                with_seg=seg))
    out = []
    for i in range(len(dataset)):
        results = anns(load(copy.deepcopy(dataset.get_data_info(i))))
        assert results is not None, f"sample {i} was dropped by the loading transforms"
        out.append(results)
    return out


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time (to prove nothing changed)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@lru_cache(maxsize=None)
def mmdet_config(rel: str):
    """A config of mmdet's own zoo (``_base_/datasets/coco_detection.py``), loaded once (read it
    through :func:`dataset_at`, which copies)."""
    from mmengine.config import Config
    from mmengine.utils import get_installed_path

    return Config.fromfile(str(Path(get_installed_path("mmdet")) / ".mim" / "configs" / rel))


def dataset_at(cfg, key_path: str) -> dict:
    """The dataset dict at a key path such as ``train_dataloader.dataset.dataset.datasets.0``."""
    node = cfg
    for part in key_path.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node.to_dict() if hasattr(node, "to_dict") else copy.deepcopy(dict(node))


def make_request(ds: dict, key_path: str, tmp_path: Path, **kw):
    """A DataRequest as the run tier makes it: the class resolved through mmdet's registry, the
    class names from metainfo or the class's METAINFO."""
    from detaudit.facts.run.datasets import DataRequest

    cls = kw.pop("dataset_class") if "dataset_class" in kw else resolve(ds["type"])
    meta = (ds.get("metainfo") or {}).get("classes") or (getattr(cls, "METAINFO", None) or {}).get("classes") or ()
    kw.setdefault("folder", tmp_path / "data")
    kw.setdefault("base_dir", tmp_path / "launch")
    Path(kw["base_dir"]).mkdir(parents=True, exist_ok=True)
    return DataRequest(key_path=key_path, dataset_type=ds["type"], dataset_class=cls, cfg=ds,
                       classes=tuple(meta), **kw)


ROOT = Path(__file__).resolve().parents[3]


@lru_cache(maxsize=None)
def config_file(path: Path):
    """A config file, loaded once (read it through :func:`dataset_at`, which copies)."""
    from mmengine.config import Config

    return Config.fromfile(str(path))

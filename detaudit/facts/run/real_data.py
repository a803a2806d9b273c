"""Real data: the configured paths of a dataset, read in place, and a survey of the first samples.

Paths are resolved as the dataset resolves them: ``data_root`` against the directory training is
launched from, ``ann_file``, ``data_prefix`` values and the other ``*_file`` keys against
``data_root`` (``extra_ann_file``, which CrowdHuman loads as given, against the launch directory).
A run on real data sets ``data_root`` absolute (the run may start elsewhere) and ``indices`` to the
first N samples; a writer can add overrides that keep the dataset from writing next to the data
(its ``real_overrides`` attribute).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from ...dataset.contract import DataRequest, PreparedData

# Path keys a dataset loads as given, not under data_root.
NOT_JOINED = ("extra_ann_file",)


@dataclass
class ConfiguredPath:
    key: str          # data_root, ann_file, data_prefix.img, label_file, ...
    value: str        # as written
    path: Path        # resolved
    exists: bool


@dataclass
class DataSurvey:
    samples: int = 0                                                # samples the dataset holds (after indices)
    boxes_per_class: dict[str, int] = field(default_factory=dict)   # non-ignored boxes over those samples
    classes_without_boxes: list[str] = field(default_factory=list)  # configured classes no sample has a box of
    annotation_names: dict[str, int] | None = None   # names the raw annotations use (None: format not readable)
    unknown_names: list[str] = field(default_factory=list)           # annotation names that are no configured class
    classes_not_in_annotations: list[str] = field(default_factory=list)  # configured classes the annotations never name
    missing_images: list[str] = field(default_factory=list)
    filtered_away: bool = False       # the config's filter_cfg removes every sample
    error: str | None = None          # the dataset did not build with the config's own settings


def _remote(value: str) -> bool:
    return "://" in value


def _data_root(request: DataRequest) -> Path | None:
    root = request.cfg.get("data_root")
    if not isinstance(root, str) or not root or _remote(root):
        return None
    path = Path(root).expanduser()
    return path if path.is_absolute() else Path(request.base_dir) / path


def configured_paths(request: DataRequest) -> list[ConfiguredPath]:
    """Every local path the dataset's config names, resolved, with whether it exists."""
    base = Path(request.base_dir)
    root = _data_root(request)
    joined = root if root is not None else base
    items: list[tuple[str, str, Path]] = []
    if root is not None:
        items.append(("data_root", request.cfg["data_root"], root))
    for key, value in request.cfg.items():
        if key.endswith("_file") and isinstance(value, str) and value and not _remote(value):
            path = Path(value).expanduser()
            items.append((key, value, path if path.is_absolute() else (base if key in NOT_JOINED else joined) / path))
    prefix = request.cfg.get("data_prefix")
    if isinstance(prefix, dict):
        for key, value in prefix.items():
            if isinstance(value, str) and value and not _remote(value):
                path = Path(value).expanduser()
                items.append((f"data_prefix.{key}", value, path if path.is_absolute() else joined / path))
    return [ConfiguredPath(k, v, p, p.exists()) for k, v, p in items]


def data_exists(request: DataRequest) -> bool:
    """Whether the configured data is on this machine: the dataset names local paths and all exist."""
    paths = configured_paths(request)
    return bool(paths) and all(p.exists for p in paths)


def _indices(given, n: int):
    if given is None:
        return n
    if isinstance(given, int):
        return min(given, n) if given >= 0 else -min(-given, n)
    if isinstance(given, (list, tuple)):
        return list(given)[:n]
    return given


def prepare_real(request: DataRequest, writer=None) -> PreparedData:
    paths = configured_paths(request)
    root = _data_root(request) or Path(request.base_dir)
    overrides = {"data_root": str(root.resolve())}
    for item in paths:
        if item.key in NOT_JOINED and not Path(item.value).expanduser().is_absolute():
            overrides[item.key] = str(item.path.resolve())
    overrides["indices"] = _indices(request.cfg.get("indices"), int(request.num_images))
    notes = [f"real data, read in place: the first {request.num_images} samples"]
    notes += [f"{p.key}={p.value!r}: {'exists' if p.exists else 'missing'} ({p.path})" for p in paths]
    missing = [str(p.path) for p in paths if not p.exists]
    hook = getattr(writer, "real_overrides", None)
    if hook is not None and not missing:
        extra, extra_notes = hook(request, dict(overrides))
        overrides.update(extra)
        notes += list(extra_notes)
    return PreparedData(overrides=overrides, kind="real", samples=int(request.num_images), notes=notes,
                        missing=missing)


# ----------------------------------------------------------------------------- survey
def _build(request: DataRequest, cfg: dict):
    from mmdet.registry import DATASETS

    cfg = dict(cfg, type=request.dataset_class if isinstance(request.dataset_class, type) else request.dataset_type)
    return DATASETS.build(cfg)


def xml_names(dataset) -> dict[str, int] | None:
    """Object names in the VOC xml files of the dataset's samples (``xml_path`` of each sample)."""
    import xml.etree.ElementTree as ET

    counts: dict[str, int] = {}
    seen = False
    for i in range(len(dataset)):
        path = dataset.get_data_info(i).get("xml_path")
        if not path or not Path(path).is_file():
            continue
        seen = True
        for obj in ET.parse(path).getroot().findall("object"):
            name = (obj.findtext("name") or "").strip()
            counts[name] = counts.get(name, 0) + 1
    return counts if seen else None


def survey_dataset(request: DataRequest, prepared: PreparedData, names_fn=None) -> DataSurvey:
    cfg = copy.deepcopy(dict(request.cfg))
    cfg.update(copy.deepcopy(prepared.overrides))
    cfg["pipeline"] = []
    cfg.pop("lazy_init", None)
    out = DataSurvey()
    dataset = None
    try:
        dataset = _build(request, cfg)
    except Exception as exc:  # noqa: BLE001 - reported, it is the user's dataset failing
        out.error = f"{type(exc).__name__}: {exc}"
    if (dataset is None or len(dataset) == 0) and cfg.get("filter_cfg"):
        try:
            unfiltered = _build(request, dict(cfg, filter_cfg=None))
        except Exception:  # noqa: BLE001 - the first error is the one reported
            unfiltered = None
        if unfiltered is not None and len(unfiltered):
            out.filtered_away, dataset = True, unfiltered
    if dataset is None:
        return out
    return survey_of(dataset, request.class_names, names_fn, out)


def survey_of(dataset, class_names, names_fn=None, out: DataSurvey | None = None) -> DataSurvey:
    """What the samples of a built dataset hold (DetAuditHook reads the Runner's own datasets)."""
    out = out or DataSurvey()
    out.samples = len(dataset)
    classes = [str(c) for c in (dataset.metainfo.get("classes") or class_names)]
    counts = {c: 0 for c in classes}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        images = [info.get("img_path")] + list((info.get("img_paths") or {}).values())
        for path in images:
            if isinstance(path, str) and not _remote(path) and not Path(path).exists() \
                    and path not in out.missing_images:
                out.missing_images.append(path)
        for inst in info.get("instances") or []:
            label = inst.get("bbox_label", -1)
            if not inst.get("ignore_flag", 0) and isinstance(label, int) and 0 <= label < len(classes):
                counts[classes[label]] += 1
    out.boxes_per_class = counts
    out.classes_without_boxes = [c for c, n in counts.items() if n == 0]
    try:
        out.annotation_names = (names_fn or xml_names)(dataset)
    except Exception:  # noqa: BLE001 - a reader that cannot read leaves the names unknown
        out.annotation_names = None
    if out.annotation_names is not None:
        out.unknown_names = sorted(n for n in out.annotation_names if n not in set(classes))
        out.classes_not_in_annotations = [c for c in classes if c not in out.annotation_names]
    return out

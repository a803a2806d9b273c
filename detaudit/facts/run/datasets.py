"""The data a run reads: a tiny synthetic copy of a dataset in its own format, or the first few real samples.

:func:`prepare` takes one dataset of the config (a :class:`DataRequest`: its key path, type, resolved
class, config dict, class names and a private folder) and returns the keys to set on that dataset's
dict (:class:`PreparedData`). Modes:

- ``synthetic``: the dataset's writer writes ``num_images`` small images with boxes (polygons for a
  mask model, label maps for semantic heads) in the dataset's own on-disk format and with the
  config's class names into ``request.folder``; ``data_root`` and the configured relative paths
  are re-rooted there.
- ``real``: the configured data, read in place: ``data_root`` made absolute against ``base_dir`` and
  ``indices=num_images`` (mmengine's ``BaseDataset`` keeps the first N samples after filtering).
  Nothing is written next to the data; the notes say which configured paths exist.
- ``auto``: ``real`` when every configured path of the dataset exists on this machine, else
  ``synthetic``.

Writers are found through the ``detaudit.datasets`` entry-point group: the entry's name is a dataset
type name, its value a writer (see :mod:`detaudit.dataset` for the contract). detaudit registers its own
writers there too (``detaudit/dataset/``, one module per format); another package registers its dataset
types the same way::

    [project.entry-points."detaudit.datasets"]
    MyDataset = "mypackage.audit_data:write_my_dataset"

A dataset matches the writer registered under the name it is written with, else under its class's
name or the nearest base class's name (``CityscapesDataset`` uses ``CocoDataset``'s writer). A
subclass that redefines how annotations are read (``load_data_list`` or ``parse_data_info``) below
the matched base is not handed that base's writer: its format is unknown, and :class:`Unsupported`
says so. A writer registered by another package wins over detaudit's own for the same name.

:func:`survey` builds a prepared dataset (no pipeline) and reports what its samples hold: boxes per
class, the class names the raw annotations use, missing image files, and whether the config's
filter removes every sample.
"""
from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

from .real_data import DataSurvey, configured_paths, data_exists, prepare_real, survey_dataset
from ...dataset.contract import GROUP, DataRequest, PreparedData, Unsupported

MODES = ("synthetic", "real", "auto")
# Methods that define how a dataset reads its annotations: a subclass redefining one of them
# below the matched base class may read another format.
FORMAT_METHODS = ("load_data_list", "parse_data_info")

__all__ = ["DataRequest", "PreparedData", "Unsupported", "DataSurvey", "prepare", "find_writer", "writers",
           "configured_paths", "data_exists", "survey", "request_for", "GROUP", "MODES"]


@lru_cache(maxsize=1)
def writers() -> dict[str, tuple]:
    """Entry points of the ``detaudit.datasets`` group by dataset type name, another package's first."""
    from importlib.metadata import entry_points

    table: dict[str, list] = {}
    for ep in entry_points(group=GROUP):
        table.setdefault(ep.name, [])
        if all(e.value != ep.value for e in table[ep.name]):
            table[ep.name].append(ep)
    for eps in table.values():
        eps.sort(key=lambda e: _package(e) == "detaudit")
    return {name: tuple(eps) for name, eps in table.items()}


def _package(ep) -> str:
    return ep.dist.metadata["Name"] if getattr(ep, "dist", None) is not None else ep.value.split(".")[0]


def _load(ep):
    from ...registry import load_entry_point

    try:
        return load_entry_point(ep)
    except Exception as exc:  # a broken third-party writer skips its datasets, never the audit
        if _package(ep) == "detaudit":
            raise Unsupported(f"the dataset writer {ep.name} = {ep.value!r} failed to import: "
                              f"{type(exc).__name__}: {exc}; detaudit's installed metadata is stale "
                              "(reinstall it: pip install -e .)") from exc
        raise Unsupported(f"the dataset writer {ep.name} = {ep.value!r} failed to import: "
                          f"{type(exc).__name__}: {exc}") from exc


def _candidates(request: DataRequest) -> list[tuple[str, int]]:
    """(name, position in the class's MRO) to look up, most specific first."""
    chain = list(request.dataset_class.__mro__) if isinstance(request.dataset_class, type) else []
    out = [(request.type_name, 0)]
    out += [(klass.__name__, i) for i, klass in enumerate(chain) if klass.__name__ != request.type_name]
    return out


def find_writer(request: DataRequest) -> tuple[str, object]:
    """(registered name, writer) for the request's dataset, or :class:`Unsupported` with the reason."""
    table = writers()
    if not table:
        raise Unsupported(f"no dataset writers are registered in the {GROUP!r} entry-point group: "
                          "detaudit's installed metadata is stale (reinstall it: pip install -e .)")
    for name, depth in _candidates(request):
        if name not in table:
            continue
        eps = table[name]
        outside = [e for e in eps if _package(e) != "detaudit"]
        if len({e.value for e in outside}) > 1:
            raise Unsupported(f"{request.type_name}: several packages register a dataset writer for {name}: "
                              + ", ".join(f"{_package(e)} ({e.value})" for e in outside))
        if depth:
            chain = request.dataset_class.__mro__
            for klass in chain[:depth]:
                redefined = [m for m in FORMAT_METHODS if m in vars(klass)]
                if redefined:
                    raise Unsupported(
                        f"{request.type_name}: {klass.__name__} redefines {', '.join(redefined)} of "
                        f"{chain[depth].__name__}, so its annotation format is unknown; register a writer "
                        f"for it in the {GROUP!r} entry-point group")
        return name, _load(eps[0])
    if request.dataset_class is None:
        raise Unsupported(f"{request.dataset_type} is not a dataset type any registry resolves, and no "
                          f"dataset writer is registered under that name")
    raise Unsupported(f"no dataset writer for {request.type_name} or its base classes; register one in the "
                      f"{GROUP!r} entry-point group")


def _inside(path: Path, other: Path) -> bool:
    try:
        path.resolve().relative_to(other.resolve())
        return True
    except ValueError:
        return False


def prepare(request: DataRequest, data: str = "auto") -> PreparedData:
    """Prepare the data of one dataset for a run (see the module docstring for the modes)."""
    if data not in MODES:
        raise ValueError(f"data mode must be one of {', '.join(MODES)}, not {data!r}")
    folder = Path(request.folder)
    for item in configured_paths(request):
        if item.exists and item.path.is_dir() and _inside(folder, item.path):
            raise ValueError(f"the data folder {folder} lies inside the configured {item.key} "
                             f"{item.path}: nothing is ever written into the user's data")
    if data == "real" or (data == "auto" and data_exists(request)):
        try:
            _, writer = find_writer(request)
        except Unsupported:
            writer = None
        return prepare_real(request, writer)
    name, writer = find_writer(request)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        out = writer(request)
    except Unsupported:
        if created:     # a writer that refuses leaves no folder behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if not isinstance(out, PreparedData):
        raise Unsupported(f"the dataset writer {name} returned {type(out).__name__}, not PreparedData")
    out.writer = out.writer or name
    if data == "auto":
        missing = [f"{p.key}={p.value!r}" for p in configured_paths(request) if not p.exists]
        out.notes.insert(0, "configured data not found on this machine ("
                         + (", ".join(missing[:3]) if missing else "no data path configured")
                         + "): synthetic data")
    return out


def request_for(ds: dict, key_path: str, folder, base_dir, **kw) -> DataRequest:
    """A :class:`DataRequest` for one dataset dict of a loaded config: the type resolved through
    mmdet's DATASETS registry (a class written as the type is taken as is), the class names from
    ``metainfo.classes`` else the class's METAINFO, masks and semantic maps when the dataset's
    pipeline loads them. Needs the registries set up as for a run."""
    from mmdet.registry import DATASETS

    written = ds.get("type")
    if isinstance(written, type):
        cls, name = written, written.__name__
    else:
        name = str(written)
        try:
            cls = DATASETS.get(name)
        except Exception:  # noqa: BLE001 - an unknown scope resolves to nothing, like an unknown name
            cls = None
    meta = ds.get("metainfo") if isinstance(ds.get("metainfo"), dict) else {}
    classes = meta.get("classes") or (getattr(cls, "METAINFO", None) or {}).get("classes") or ()
    classes = (classes, ) if isinstance(classes, str) else tuple(classes)
    masks = seg = False
    for step in ds.get("pipeline") or ():
        step_type = step.get("type") if isinstance(step, dict) else None
        step_name = step_type.__name__ if isinstance(step_type, type) else str(step_type).rpartition(".")[2]
        if step_name == "LoadPanopticAnnotations":
            masks = masks or step.get("with_mask", True)
            seg = seg or step.get("with_seg", True)
        elif step_name.startswith("LoadAnnotations"):
            masks, seg = masks or bool(step.get("with_mask")), seg or bool(step.get("with_seg"))
    kw.setdefault("with_masks", bool(masks))
    kw.setdefault("with_seg", bool(seg))
    return DataRequest(key_path=key_path, dataset_type=name, dataset_class=cls, cfg=ds, classes=classes,
                       folder=Path(folder), base_dir=Path(base_dir), **kw)


def survey(request: DataRequest, prepared: PreparedData) -> DataSurvey:
    """Build the prepared dataset (no pipeline) and report what its samples hold. Needs mmdet's
    registries set up (``register_all_modules`` and the config's ``custom_imports``)."""
    try:
        _, writer = find_writer(request)
    except Unsupported:
        writer = None
    return survey_dataset(request, prepared, getattr(writer, "annotation_names", None))


def survey_built(dataset, ds_cfg: dict, key_path: str, base_dir) -> DataSurvey:
    """What a dataset the Runner built already holds (DetAuditHook, before the first iteration): the
    same survey as for the run tier's real data, read through the writer of its type."""
    import tempfile

    from .real_data import survey_of

    request = request_for(dict(ds_cfg), key_path, Path(tempfile.gettempdir()), base_dir)
    try:
        _, writer = find_writer(request)
    except Unsupported:
        writer = None
    return survey_of(dataset, request.class_names, getattr(writer, "annotation_names", None))

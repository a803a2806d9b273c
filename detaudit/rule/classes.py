"""The classes a dataset config has: its ``metainfo.classes``, else its type's default classes;
and the class counts the model config gives its heads."""
from __future__ import annotations

from typing import Any, Iterator

from .config import TAXONOMY_DEFAULTS, counts_object_classes, is_mapping, metainfo_classes, type_name, walk_dicts


def registry_metainfo(dataset_type):
    """The class-level METAINFO of a dataset type (its default classes), or None."""
    if dataset_type is None:
        return None
    if isinstance(dataset_type, type):
        return getattr(dataset_type, "METAINFO", None)
    try:
        from mmdet.registry import DATASETS

        cls = DATASETS.get(dataset_type)
    except Exception:  # noqa: BLE001 - an unknown or broken type, or no mmdet: no default to compare with
        return None
    return getattr(cls, "METAINFO", None) if cls is not None else None


def dataset_classes(ds, *, defaults: bool = True) -> tuple[set[int], int, str] | None:
    """(acceptable head sizes, number of classes, where the classes come from) for one
    dataset config; panoptic datasets accept their thing and stuff counts too. ``defaults``:
    fall back to the dataset type's default classes (needs mmdet's registry)."""
    meta = ds.get("metainfo", None)
    declared = metainfo_classes(ds)
    if declared is not None:
        ok = {len(declared)}
        for k in ("thing_classes", "stuff_classes"):
            v = meta.get(k, None)
            if isinstance(v, (list, tuple)) and v:
                ok.add(len(v))
        names = ", ".join(repr(c) for c in declared[:4]) + (", ..." if len(declared) > 4 else "")
        return ok, len(declared), f"metainfo.classes=({names})"
    if not defaults or type_name(ds.get("type", None)) in TAXONOMY_DEFAULTS:
        return None
    default = registry_metainfo(ds.get("type", None))
    classes = (default or {}).get("classes", None)
    if not isinstance(classes, (list, tuple)) or not classes:
        return None
    ok = {len(classes)}
    for k in ("thing_classes", "stuff_classes"):
        v = default.get(k, None)
        if isinstance(v, (list, tuple)) and v:
            ok.add(len(v))
    return ok, len(classes), f"the default classes of {type_name(ds.get('type'))} (no metainfo.classes)"


# Parts of a model config whose ``num_classes`` is not a head's object-class count.
NOT_HEAD_PARTS = ("train_cfg", "test_cfg", "data_preprocessor", "backbone", "init_cfg", "tracker")


def configured_heads(model: Any) -> Iterator[tuple[str, int]]:
    """(key path of ``num_classes``, value) for every head of a model config whose class count
    should be the dataset's: not proposal heads (``rpn_head``, the head of an ``RPN``
    detector), semantic, re-id or tracking heads, losses, or the model's train/test settings."""
    if not is_mapping(model) or type_name(model.get("type", None)) == "RPN":
        return
    for path, d in walk_dicts(model, "model"):
        n = d.get("num_classes", None)
        if "type" not in d:
            continue  # not a component the registry builds (a key written where no head is: DA831's)
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            continue
        parts = path.split(".")[1:]
        if any(p in NOT_HEAD_PARTS or p.startswith("loss") for p in parts) or not counts_object_classes(path):
            continue
        yield f"{path}.num_classes", n

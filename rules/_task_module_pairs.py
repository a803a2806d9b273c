"""Which head receives which assigner and sampler of ``model.train_cfg``: a single-stage detector's
``train_cfg`` goes to its ``bbox_head``, a two-stage detector's ``rpn`` part to its ``rpn_head`` and
its ``rcnn`` part (one per stage in a cascade) to the RoI head's ``bbox_head``. Shared by DA864 and
``scripts/zoo_task_module_pairs.py``, which counts the pairs mmdet's zoo uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from detaudit.rule.config import is_mapping, node_type

from ._zoo_tables import learnt_table

TABLE = Path(__file__).with_name("zoo_task_module_pairs.json")
ROLES = ("assigner", "sampler")


def _stage(train_cfg, head, path: str, head_path: str) -> Iterator[tuple[str, str, str, str, str]]:
    if not (is_mapping(train_cfg) and is_mapping(head) and node_type(head)):
        return
    for role in ROLES:
        module = train_cfg.get(role, None)
        if is_mapping(module) and node_type(module):
            yield f"{path}.{role}", node_type(module), role, node_type(head), head_path


def flags(module) -> dict[str, bool]:
    """The switches (bool arguments) a module dict writes."""
    return {k: v for k, v in module.items() if isinstance(v, bool)} if is_mapping(module) else {}


def task_module_pairs(model) -> Iterator[tuple[str, str, str, str, str]]:
    """(key path of the module, its type, its role, the head's type, the head's key path) for each
    assigner and sampler the model's ``train_cfg`` gives a head, and for the detector a wrapper
    model (a semi-supervised teacher-student such as ``SoftTeacher``) holds: (``model.detector``,
    its type, ``"detector"``, the wrapper's type, ``model``)."""
    if not is_mapping(model):
        return
    inner = model.get("detector", None)
    if is_mapping(inner) and node_type(inner) and node_type(model):
        yield "model.detector", node_type(inner), "detector", node_type(model), "model"
    train_cfg = model.get("train_cfg", None)
    if not is_mapping(train_cfg):
        return
    if "rpn" in train_cfg or "rcnn" in train_cfg:
        yield from _stage(train_cfg.get("rpn"), model.get("rpn_head"), "model.train_cfg.rpn", "model.rpn_head")
        roi = model.get("roi_head", None)
        heads = roi.get("bbox_head", None) if is_mapping(roi) else None
        rcnn = train_cfg.get("rcnn", None)
        if isinstance(rcnn, (list, tuple)) and isinstance(heads, (list, tuple)):
            for i, (stage, head) in enumerate(zip(rcnn, heads)):
                yield from _stage(stage, head, f"model.train_cfg.rcnn.{i}", f"model.roi_head.bbox_head.{i}")
        elif is_mapping(heads):
            yield from _stage(rcnn, heads, "model.train_cfg.rcnn", "model.roi_head.bbox_head")
        return
    yield from _stage(train_cfg, model.get("bbox_head"), "model.train_cfg", "model.bbox_head")


def pair_key(head_type: str, role: str) -> str:
    return f"{head_type}|{role}"


def flag_key(head_type: str, role: str, module: str, flag: str) -> str:
    return f"{head_type}|{role}|{module}|{flag}"


def zoo_table() -> dict:
    """``head type|role`` -> {module type: how many zoo configs give that head that module}."""
    return learnt_table(TABLE, "pairs")


def zoo_flags() -> dict:
    """``head type|role|module type|flag`` -> {"true": n, "false": n}: how the zoo's configs set a
    switch of the module they give that head (a switch left out counts as not written)."""
    return learnt_table(TABLE, "flags")


def family_pairs(table: dict, head_type: str, role: str) -> dict:
    """What the zoo gives ``head_type`` and the zoo's heads that subclass it in ``role``: {module type:
    count}. A subclass usually inherits the code that calls the assigner or sampler; one that overrides
    it is counted too, and the subclasses' configs count toward the configs a head needs to be judged."""
    seen = dict(table.get(pair_key(head_type, role), {}))
    try:
        from mmdet.registry import MODELS

        head_cls = MODELS.get(head_type)
    except Exception:  # noqa: BLE001 - no mmdet, or a name it does not know: the head's own counts
        return seen
    if not isinstance(head_cls, type):
        return seen
    for key, counts in table.items():
        other, _, other_role = key.partition("|")
        if other_role != role or other == head_type:
            continue
        try:
            other_cls = MODELS.get(other)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(other_cls, type) and issubclass(other_cls, head_cls):
            for module, n in counts.items():
                seen[module] = seen.get(module, 0) + n
    return seen

from detaudit.rule import Violation, rule
from detaudit.rule.config import type_name


def _same_kind(base_type, new_type) -> bool:
    """The new dict continues the base one (no type, or the same type): keys the author
    did not repeat were meant to be kept. A different type is a deliberate new value."""
    if new_type is None:
        return True
    if base_type is None:
        return False
    return type_name(str(base_type)) == type_name(str(new_type))  # 'mmdet.FasterRCNN' == 'FasterRCNN'



def _loaded_keys(ctx, key_path):
    """Keys of the value at ``key_path`` in the loaded config, when it loads."""
    from detaudit.rule import FactUnavailable

    try:
        value = ctx.config_value(key_path, None)
    except FactUnavailable:
        return None
    return list(value.keys()) if hasattr(value, "keys") else None


@rule(code="DA004", name="lazy-override-drops-base", severity="error", tier="static", needs=("source_map",))
def lazy_override_drops_base(ctx):
    """A pure-Python config replaces an inherited dict instead of merging into it.

    ## What it does
    In configs that inherit with ``with read_base(): from ... import *``, finds
    assignments such as ``model = dict(...)`` or ``model.backbone = dict(...)`` over a
    dict that came from a base file, and lists the base keys that are gone from the
    final config (``backbone``, ``rpn_head``, ``train_cfg``...). It compares the base
    file's value with the value the whole config ends up with, so keys that a later
    ``model.update(...)`` restores are not reported. An assignment whose dict has a
    different ``type`` than the base, or says ``_delete_=True``, is a deliberate
    replacement and is not reported.

    ## Why is this bad?
    In ``_base_``-style configs ``model = dict(neck=...)`` merges into the base model.
    Pure-Python configs are plain Python: the same line rebinds the name, and every key
    the new dict does not repeat is lost. The model then fails to build, or worse,
    builds with defaults (no ``train_cfg``, no ``test_cfg``) that nobody chose.

    ## Example
    ```python
    with read_base():
        from .._base_.models.faster_rcnn_r50_fpn import *

    model = dict(type='FasterRCNN', neck=dict(type='PAFPN'))  # backbone, heads... lost
    ```

    ## Use instead
    ```python
    with read_base():
        from .._base_.models.faster_rcnn_r50_fpn import *

    model.update(dict(neck=dict(type='PAFPN')))  # or model.merge(...)
    ```

    ## References
    - mmengine "Pure Python style configuration files" (the config tutorial)
    """
    if ctx.config_path is None:
        from detaudit.rule import FactUnavailable

        raise FactUnavailable("source_map", "the config was given as an object, not a file: no source to read")
    sm = ctx.source_map
    for ov in sm.overrides:
        if ov.explicit_delete or not _same_kind(ov.base_type, ov.new_type):
            continue
        final = _loaded_keys(ctx, ov.key_path)
        lost = [k for k in ov.dropped if final is None or k not in final]
        if not lost:
            continue
        how = f"{ov.key_path}.update(dict(...))"
        yield Violation(
            message=(f"'{ov.key_path} = dict(...)' replaces the {ov.key_path} imported from {ov.base_file} "
                     f"instead of merging into it: {len(lost)} base key(s) lost: {', '.join(lost)}"),
            key_path=ov.key_path, file=ov.file, line=ov.line,
            evidence={"lost_keys": lost, "base_file": ov.base_file, "base_keys": ov.base_keys,
                      "assigned_keys": ov.new_keys, "base_type": _plain(ov.base_type),
                      "assigned_type": _plain(ov.new_type)},
            fix=f"use {how} or {ov.key_path}.merge(dict(...)) to keep the base keys",
        )


def _plain(t):
    return t if t is None or isinstance(t, (str, int, float, bool)) else str(t)

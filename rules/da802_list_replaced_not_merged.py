from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.merge import read_by_runner, short_type, where


def _pairs(old, new):
    """(index, new element, old element) pairs that stand for the same thing: by position when
    the lists are as long and agree on types, else each typed element with the first unused
    old one of its type; an element without a type takes the old one at its position."""
    if len(old) == len(new) and all(n.type is None or short_type(n.type) == short_type(o.type)
                                    for o, n in zip(old, new)):
        return [(i, n, o) for i, (o, n) in enumerate(zip(old, new))]
    out, used = [], set()
    for i, n in enumerate(new):
        if n.type is None:
            if i < len(old) and i not in used:
                used.add(i)
                out.append((i, n, old[i]))
            continue
        j = next((j for j, o in enumerate(old) if j not in used and short_type(o.type) == short_type(n.type)), None)
        if j is not None:
            used.add(j)
            out.append((i, n, old[j]))
    return out


def _is_pipeline(key_path: str) -> bool:
    return any("pipeline" in part or part == "transforms" for part in key_path.split("."))


def _harmless(key, old, sig) -> bool:
    """A lost key whose base value is what the constructor uses anyway (read from its
    signature; without one, a None)."""
    if key == "type" or key not in old.values:
        return False
    if sig is None:
        return old.values[key] is None
    return sig.is_default(key, old.values[key])


@rule(code="DA802", name="list-replaced-not-merged", severity="error", tier="static",
      needs=("replaced_lists", "constructors"))
def list_replaced_not_merged(ctx):
    """A child config replaced a list of dicts whose base elements carried keys the new ones lack.

    ## What it does
    Finds lists of dicts (cascade ``bbox_head`` stages, pipelines, ``param_scheduler``,
    hooks...) that a child config or ``--cfg-options`` replaced, and compares each new
    element with the base element it stands for (same position and type, or the first of
    its type). An element written as a patch (fewer than half of its base element's keys,
    as if the list merged) that lacks keys of its base element is reported, with those keys
    and the base file:line; an element written out in full is a deliberate rewrite. A lost key whose base value is the constructor's own default
    (read from its signature; under ``--no-exec``, a base value of ``None``) costs nothing
    and is not listed. Lists whose elements are complete, and lists that change shape on
    purpose (other types), are left alone. An element without ``type`` is reported with
    ``type`` among the lost keys. Pipelines are rewritten whole by habit, and a transform
    setting left out is often meant: their findings are warnings (unless an element has no
    type). One finding per list; when a single element lost keys, it is at that element.

    ## Why is this bad?
    mmengine merges dicts key by key but never merges lists: a list in a child config
    replaces the base list whole. ``bbox_head=[dict(type='Shared2FCBBoxHead', num_classes=3)] * 3``
    in a Cascade R-CNN config looks like "change the class count" but drops every stage's
    ``bbox_coder`` (the per-stage ``target_stds``), ``reg_class_agnostic``, losses and
    sizes: the three stages train with the constructor's defaults, silently. A
    ``param_scheduler`` element without ``type`` fails at start-up.

    ## Example
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=[dict(type='Shared2FCBBoxHead', num_classes=3)] * 3))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=[
        dict(type='Shared2FCBBoxHead', num_classes=3, in_channels=256, fc_out_channels=1024,
             roi_feat_size=7, reg_class_agnostic=True, bbox_coder=dict(
                 type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
             loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
             loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
        ...,  # each stage written out, or edited in place in a read_base() config
    ]))
    ```

    ## References
    - mmengine "Config" tutorial: lists are replaced, not merged
    """
    try:
        constructors = ctx.constructors
    except FactUnavailable:
        constructors = None  # --no-exec
    seen = set()
    for r in sorted(ctx.replaced_lists, key=lambda r: r.key_path.startswith("test_")):
        if not read_by_runner(r.key_path) or (r.loc, r.old_loc) in seen:
            continue  # one list under two keys (test_dataloader = val_dataloader) is reported once
        seen.add((r.loc, r.old_loc))
        losses = []
        for i, new, old in _pairs(r.old, r.new):
            if new.type is not None and 2 * len(new.keys) >= len(old.keys):
                continue  # written out in full, not as a patch: a deliberate rewrite
            lost = [k for k in old.keys if k not in new.keys]
            sig = constructors.signature(new.type or old.type, f"{r.key_path}.{i}") if constructors and lost else None
            lost = [k for k in lost if not _harmless(k, old, sig)]
            if lost:
                losses.append((i, new, old, lost))
        if not losses:
            continue
        parts = [f"[{i}] {short_type(new.type or old.type)}: {', '.join(lost)} ({where(old.loc)})"
                 for i, new, old, lost in losses]
        untyped = [i for i, new, old, lost in losses if "type" in lost]
        message = (f"{r.key_path}: the list at {where(r.loc)} replaces the {len(r.old)}-element list of "
                   f"{where(r.old_loc)} (mmengine replaces lists, it never merges them); "
                   f"{len(losses)} element(s) lost keys their base element had: {'; '.join(parts)}")
        if untyped:
            message += f"; element(s) {untyped} have no type, so they cannot be built"
        # one element lost keys: that element is the key to edit
        key = f"{r.key_path}.{losses[0][0]}" if len(losses) == 1 else r.key_path
        yield Violation(
            message=message, key_path=key, file=r.loc.file, line=r.loc.line or None,
            evidence={"replaced_at": where(r.old_loc), "by": where(r.loc),
                      "lost": {str(i): lost for i, new, old, lost in losses}},
            fix=("write the lost keys into each new element (copy the base list and edit it), or, in a "
                 "read_base() config, edit the inherited list in place"),
            severity="warning" if _is_pipeline(r.key_path) and not untyped else None)

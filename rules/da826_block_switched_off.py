from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts


def _all_false(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(x is False for x in v)


def _hooks(cfg):
    dh = cfg.get("default_hooks", None)
    if is_mapping(dh):
        for name in list(dh.keys()):
            yield f"default_hooks.{name}", dh[name]
    ch = cfg.get("custom_hooks", None)
    for i, h in enumerate(ch if isinstance(ch, (list, tuple)) else []):
        yield f"custom_hooks.{i}", h


@rule(code="DA826", name="block-switched-off", severity="warning", tier="static", needs=())
def block_switched_off(ctx):
    """A block of settings is present but the switch that would use it is off.

    ## What it does
    Reports settings whose effect depends on a switch the config leaves off:

    - a backbone ``dcn`` with ``stage_with_dcn`` unset or all ``False`` (ResNet and its
      relatives apply the deformable convolution only to the stages marked ``True``; the
      default marks none);
    - a backbone ``plugins`` entry whose ``stages`` are all ``False``;
    - ``DetVisualizationHook`` with a ``test_out_dir`` while ``draw`` is not ``True``: the hook
      returns before drawing or writing anything;
    - an FPN with ``relu_before_extra_convs=True`` and no extra convolutions
      (``add_extra_convs`` unset or ``False``).

    ## Why is this bad?
    The config reads as if the feature were on, and nothing says otherwise: adding
    ``dcn=dict(type='DCNv2', deform_groups=1)`` to a ResNet without ``stage_with_dcn``
    trains a plain ResNet; setting ``test_out_dir`` writes no image. Results are compared and reported as if the block had been used.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(backbone=dict(dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(backbone=dict(dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
                               stage_with_dcn=(False, True, True, True)))
    ```

    ## Fix
    None: switching the block on changes the model or the data, and removing it changes nothing;
    the finding names the switch.
    """
    cfg = ctx.cfg
    for path, d in walk_dicts(cfg, ""):
        path = path.lstrip(".")
        kind = node_type(d)
        if is_mapping(d.get("dcn", None)) and kind and path.endswith("backbone"):
            swd = d.get("stage_with_dcn", None)
            if swd is None or _all_false(swd):
                how = "all False" if swd is not None else "unset (the default marks no stage)"
                yield Violation(
                    message=(f"{path}.dcn is set but {path}.stage_with_dcn is {how}: {kind or 'the backbone'} applies "
                             f"the deformable convolution to no stage, and trains without it"),
                    key_path=f"{path}.stage_with_dcn" if swd is not None else f"{path}.dcn",
                    evidence={"backbone": kind, "stage_with_dcn": list(swd) if swd is not None else None},
                    fix="set stage_with_dcn, e.g. (False, True, True, True), or remove dcn")
        plugins = d.get("plugins", None)
        for i, p in enumerate(plugins if isinstance(plugins, (list, tuple)) else []):
            if is_mapping(p) and _all_false(p.get("stages", None)):
                yield Violation(
                    message=f"{path}.plugins.{i} has stages all False: the plugin is inserted in no stage",
                    key_path=f"{path}.plugins.{i}.stages", evidence={"stages": list(p["stages"])},
                    fix="mark the stages the plugin goes in with True, or remove the plugin")
        if kind.startswith("FPN") and d.get("relu_before_extra_convs", False) is True \
                and d.get("add_extra_convs", False) in (False, None):
            yield Violation(
                message=(f"{path}.relu_before_extra_convs=True has no effect: the FPN has no extra convolutions "
                         f"(add_extra_convs is {d.get('add_extra_convs', False)!r}), its extra levels are max-pooled"),
                key_path=f"{path}.relu_before_extra_convs", evidence={"add_extra_convs": d.get("add_extra_convs", False)},
                fix="set add_extra_convs='on_input' or 'on_output', or remove relu_before_extra_convs")
    for key, hook in _hooks(cfg):
        if node_type(hook) != "DetVisualizationHook" or hook.get("draw", False) is True:
            continue
        # (show=True is not idle without draw: it still removes the visualizer's backends; DA715's)
        used = [k for k in ("test_out_dir",) if hook.get(k, None) not in (None, False, "")]
        if used:
            yield Violation(
                message=(f"{key} sets {' and '.join(used)} but draw is {hook.get('draw', False)!r}"
                         f"{'' if 'draw' in hook else ' (the default)'}: the hook returns before drawing, so nothing "
                         f"is written"),
                key_path=f"{key}.{used[0]}", evidence={"draw": hook.get("draw", False), "set": used},
                fix=f"set {key}.draw=True")

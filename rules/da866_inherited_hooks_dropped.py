from detaudit.rule import Violation, rule
from detaudit.rule.config import type_name
from detaudit.rule.merge import where

HOOK_LISTS = ("custom_hooks",)


@rule(code="DA866", name="inherited-hooks-dropped", severity="warning", tier="static", needs=("replaced_lists",))
def inherited_hooks_dropped(ctx):
    """A config's own ``custom_hooks`` list throws away hooks its base registered.

    ## What it does
    Finds a ``custom_hooks`` list that a later file (or ``--cfg-options``) wrote over the
    base's, and reports the hook types of the base's list that the new list no longer has,
    with where the base registered them.

    ## Why is this bad?
    mmengine merges dicts key by key but replaces lists whole. A child that only meant to add
    a hook (``custom_hooks = [dict(type='CheckInvalidLossHook')]``) removes every hook the base
    relied on: an RTMDet or YOLOX config loses its ``EMAHook`` (no weight averaging: validation
    and checkpoints use the raw weights) and its ``PipelineSwitchHook``/``YOLOXModeSwitchHook``
    (the last epochs keep the strong augmentation). Training runs, with another recipe.

    ## Example
    ```python
    _base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'
    custom_hooks = [dict(type='CheckInvalidLossHook', interval=50)]
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py'
    custom_hooks = _base_.custom_hooks + [dict(type='CheckInvalidLossHook', interval=50)]
    ```
    """
    for r in ctx.replaced_lists:
        if r.key_path not in HOOK_LISTS:
            continue
        kept = {type_name(e.type) for e in r.new if e.type is not None}
        lost = [e for e in r.old if e.type is not None and type_name(e.type) not in kept]
        if not lost:
            continue
        names = ", ".join(type_name(e.type) for e in lost)
        yield Violation(
            message=(f"{r.key_path} written at {where(r.loc)} replaces the base's list ({where(r.old_loc)}) "
                     f"instead of adding to it: {names} {'is' if len(lost) == 1 else 'are'} no longer registered"),
            key_path=r.key_path,
            evidence={"dropped": [type_name(e.type) for e in lost], "kept": sorted(kept),
                      "base_at": where(r.old_loc)},
            fix=(f"write {r.key_path} = _base_.{r.key_path} + [...] (or list {names} again) to keep the base's "
                 "hooks; leave them out only to switch them off"))

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, walk_dicts
from detaudit.rule.merge import where

# the top-level keys mmengine's Runner builds from (a 2.x key nothing reads is DA003's)
BUILT = ("model", "optim_wrapper", "param_scheduler", "default_hooks", "custom_hooks", "train_cfg", "val_cfg",
         "test_cfg", "visualizer", "log_processor", "env_cfg")


@rule(code="DA851", name="delete-with-nothing-to-delete", severity="warning", tier="static", needs=("source_map",))
def delete_with_nothing_to_delete(ctx):
    """``_delete_=True`` on a dict no base gives: the key stays in the merged config.

    ## What it does
    Finds every dict the Runner builds from (the model, dataloaders, evaluators, hooks, schedulers,
    loops, the optimizer wrapper, the visualizer) that still holds ``_delete_``. mmengine removes the
    key only while it merges a child's dict into a base's dict of the same name; when no base
    gives that dict (the config inherits other bases, or none), it is kept as written.

    ## Why is this bad?
    The override was copied from a config that inherits the base it replaces, without that
    base: there is nothing to delete, so whatever the copied override left out is missing
    (a neck override without its ``type``), and ``_delete_`` itself travels with the dict.
    The registry passes it to the constructor as a keyword argument, and a constructor
    without ``**kwargs`` fails with ``unexpected keyword argument '_delete_'``.

    ## Example
    ```python
    _base_ = ['mmdet::_base_/datasets/coco_detection.py', 'mmdet::_base_/default_runtime.py']
    model = dict(type='RetinaNet', backbone=dict(_delete_=True, type='SwinTransformer', ...), ...)
    ```

    ## Use instead
    ```python
    _base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
              'mmdet::_base_/default_runtime.py']
    model = dict(backbone=dict(_delete_=True, type='SwinTransformer', ...))
    ```
    """
    sm = ctx.source_map
    for top in list(ctx.cfg.keys()):
        if top not in BUILT and not top.endswith(("_dataloader", "_evaluator")):
            continue
        for path, d in walk_dicts(ctx.cfg[top], top):
            if not is_mapping(d) or "_delete_" not in d:
                continue
            key = f"{path}._delete_"
            yield Violation(
                message=(f"{key} ({where(sm.locate(key))}): no base config gives {path}, so there is nothing to "
                         f"delete and the key stays in the dict; what the override leaves out is missing, and "
                         f"the constructor is handed an argument named '_delete_'"),
                key_path=key, evidence={"dict": path},
                fix=f"inherit the base config that defines {path}, or remove _delete_ and write {path} out in full")

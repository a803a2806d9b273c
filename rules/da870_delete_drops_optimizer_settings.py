from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping

from ._required_args import dropped_by_delete, history_of

# What an optim_wrapper carries beside its optimizer that a recipe relies on, and what losing it does.
STABILIZERS = {
    "clip_grad": "gradients are no longer clipped (the recipe's guard against exploding losses)",
    "paramwise_cfg": "every parameter gets the base learning rate and decay (the per-part multipliers are gone)",
    "accumulative_counts": "each step sees one batch, not the accumulated ones",
    "loss_scale": "mixed precision runs without the recipe's loss scale",
}


@rule(code="DA870", name="delete-drops-optimizer-settings", severity="warning", tier="static",
      needs=("key_history",))
def delete_drops_optimizer_settings(ctx):
    """``optim_wrapper=dict(_delete_=True, ...)`` throws away the base's gradient clipping or parameter-wise settings.

    ## What it does
    Reports the settings of the base's ``optim_wrapper`` beside the optimizer (``clip_grad``,
    ``paramwise_cfg``, ``accumulative_counts``, ``loss_scale``) that a ``_delete_=True`` on
    ``optim_wrapper`` threw away and the new dict does not set again, with where the base wrote
    them.

    ## Why is this bad?
    ``_delete_=True`` is the usual way to swap the optimizer (SGD for AdamW, or another recipe's
    optimizer block), and it drops everything else the base's wrapper held. A recipe that trains
    stably only with gradient clipping (FCOS, many transformer detectors) or with
    ``paramwise_cfg`` (no decay on norms, a slower backbone) then diverges or converges worse, and
    the config reads as if only the optimizer changed.

    ## Example
    ```python
    _base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'   # clip_grad=dict(max_norm=35)
    optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                         optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
    optim_wrapper = dict(optimizer=dict(lr=0.01))   # merge: the base's clip_grad stays
    ```
    """
    wrapper = ctx.cfg.get("optim_wrapper", None)
    if not is_mapping(wrapper):
        return
    found = dropped_by_delete(history_of(ctx), "optim_wrapper")
    if found is None or found[0] != "optim_wrapper":
        return
    _owner, by, dropped, base_at = found
    lost = [k for k in dropped if k in STABILIZERS and k not in wrapper]
    for key in lost:
        yield Violation(
            message=(f"optim_wrapper=dict(_delete_=True, ...) at {by} threw away the base's {key} ({base_at}) and "
                     f"does not set it again: {STABILIZERS[key]}"),
            key_path=f"optim_wrapper.{key}", evidence={"dropped": key, "delete_at": by, "base_at": base_at},
            fix=f"write optim_wrapper.{key} again in the new dict, or drop _delete_=True and override only the "
                "optimizer's keys")

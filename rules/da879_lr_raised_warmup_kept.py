from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import is_mapping, node_type, number

LR = "optim_wrapper.optimizer.lr"
RAISED = 4.0  # the recipe's lr multiplied at least this much (a batch four times the recipe's, scaled linearly)
WARMUPS = {"LinearLR", "QuadraticWarmupLR", "ConstantLR", "ExponentialLR"}


@rule(code="DA879", name="lr-raised-warmup-kept", severity="warning", tier="static", needs=("key_history",))
def lr_raised_warmup_kept(ctx):
    """The learning rate was raised several times above the recipe's, and the recipe's short warmup kept.

    ## What it does
    Reads from the key history an ``optim_wrapper.optimizer.lr`` that a later file set to at least
    four times the value of the recipe it inherits, while ``param_scheduler`` (with its warmup,
    a ``LinearLR`` or ``QuadraticWarmupLR`` starting at 0) is still the recipe's, written before that
    change. Reports the warmup's length in iterations or epochs with the two learning rates.

    ## Why is this bad?
    Scaling the lr with a larger batch (the linear scaling rule) is sound only with a warmup that
    grows with it: the recipe's warmup (mmdet's usual 500 iterations) brings the new, several times
    larger rate in over the same few hundred steps, and detectors whose heads start from random
    weights often see the loss jump to NaN in the first epoch, or train worse than the recipe.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'  # lr=0.02, 500 warmup iterations
    optim_wrapper = dict(optimizer=dict(lr=0.16))  # 8x for a 128-image batch
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(lr=0.16))
    param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=2000),
                       dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)]
    ```
    """
    try:
        history = ctx.key_history
    except FactUnavailable:
        return
    lrs = [a for a in history.of(LR) if a.status != "discarded" and a.literal and number(a.value)]
    if len(lrs) < 2:
        return
    old, new = lrs[-2], lrs[-1]
    if new.status != "set" or old.file == new.file or new.value < RAISED * old.value:
        return
    schedulers = ctx.cfg.get("param_scheduler", None)
    first = schedulers[0] if isinstance(schedulers, (list, tuple)) and schedulers else schedulers
    if not is_mapping(first) or node_type(first) not in WARMUPS or (number(first.get("begin", 0)) or 0) != 0:
        return
    written = history.final("param_scheduler")
    if written is None or written.stamp > new.stamp or written.file == new.file:
        return  # the schedule was written with (or after) the new lr: chosen together
    end = number(first.get("end", None))
    unit = "epochs" if first.get("by_epoch", True) else "iterations"
    length = f"{end:g} {unit}" if end is not None else "the recipe's length"
    key = "param_scheduler.0" if isinstance(schedulers, (list, tuple)) else "param_scheduler"
    yield Violation(
        message=(f"{LR} = {new.value:g} ({new.where}) is {new.value / old.value:g}x the recipe's {old.value:g} "
                 f"({old.where}), but the warmup is the recipe's ({node_type(first)} over {length}, "
                 f"{written.where}): the larger rate arrives as fast as the recipe's did"),
        key_path=f"{key}.end" if end is not None else key,
        evidence={"lr": new.value, "recipe_lr": old.value, "warmup": node_type(first), "warmup_end": end,
                  "by_epoch": unit == "epochs"},
        fix=f"lengthen the warmup with the lr ({key}.end, e.g. {int(end * new.value / old.value)} {unit})"
            if end is not None else f"lengthen the warmup ({key}) with the lr")

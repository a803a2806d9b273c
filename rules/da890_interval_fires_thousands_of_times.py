from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, number, train_loop

# The zoo's iteration-based recipes validate and save at most 148 times in a training (Mask2Former
# Swin-L: 737,500 iterations, every 5,000); epoch-based ones at most once per epoch (300). An
# interval that fires over a thousand times is a debugging value left in a full schedule.
MAX_TIMES = 1000
ZOO_MOST = "148 (mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic: 737,500 iterations, every 5,000)"
MMENGINE_VAL_INTERVAL = 1000  # IterBasedTrainLoop's default


@rule(code="DA890", name="interval-fires-thousands-of-times", severity="warning", tier="static", needs=())
def interval_fires_thousands_of_times(ctx):
    """An iteration-based training validates or saves a checkpoint over a thousand times.

    ## What it does
    For a training loop counted in iterations (``max_iters``), divides the training's length by
    ``train_cfg.val_interval`` (when the config validates) and by the checkpoint hook's
    ``interval`` (when it counts iterations, ``by_epoch=False``), and reports an interval that
    fires more than 1,000 times. The zoo's iteration-based recipes validate and save at most 148
    times.

    ## Why is this bad?
    Each validation runs the whole validation set (a semi-supervised detector runs it twice, for
    the teacher and the student), and each checkpoint writes the model and optimizer state. An
    interval of 50 on a 180,000-iteration schedule (a debugging value kept) stops training 3,600
    times: the run takes many times longer, or fills the disk, while training nothing differently.

    ## Example
    ```python
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=180000, val_interval=50)
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=180000, val_interval=5000)
    ```
    """
    cfg = ctx.cfg
    loop = train_loop(cfg)
    if loop is None or loop[0] != "iter" or not number(loop[1]) or loop[1] <= 0:
        return
    length = loop[1]
    tc = cfg.get("train_cfg")
    validates = all(cfg.get(k, None) is not None for k in ("val_dataloader", "val_cfg", "val_evaluator"))
    if validates:
        written = tc.get("val_interval", None)
        interval = number(written) if written is not None else MMENGINE_VAL_INTERVAL
        yield from _judge("train_cfg.val_interval", interval, length, "validates",
                          "a full pass over the validation set each time", "val_interval")
    hooks = cfg.get("default_hooks", None)
    hook = hooks.get("checkpoint", None) if is_mapping(hooks) else None
    if is_mapping(hook) and hook.get("by_epoch", True) is False:
        yield from _judge("default_hooks.checkpoint.interval", number(hook.get("interval", -1)), length, "saves a checkpoint",
                          "the model and optimizer state written each time", "interval")


def _judge(key: str, interval, length, does: str, cost: str, name: str):
    if not interval or interval <= 0:
        return
    times = int(length // interval)
    if times <= MAX_TIMES:
        return
    suggested = max(1, int(length) // 50)
    yield Violation(
        message=f"{key}={interval} with max_iters={length}: the training {does} {times:,} times ({cost}); "
                f"the zoo's iteration-based recipes do so at most {ZOO_MOST}",
        key_path=key, evidence={name: interval, "max_iters": length, "times": times},
        fix=f"{name}={suggested} (about 50 times in the training)")

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, train_loop


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _hooks(cfg):
    """(key path, hook dict) of default_hooks and custom_hooks."""
    dh = cfg.get("default_hooks", None)
    if is_mapping(dh):
        for name in list(dh.keys()):
            if is_mapping(dh[name]):
                yield f"default_hooks.{name}", dh[name]
    ch = cfg.get("custom_hooks", None)
    for i, h in enumerate(ch if isinstance(ch, (list, tuple)) else []):
        if is_mapping(h):
            yield f"custom_hooks.{i}", h


def _validates(cfg) -> bool:
    return cfg.get("val_dataloader", None) is not None and cfg.get("val_cfg", None) is not None \
        and cfg.get("val_evaluator", None) is not None


@rule(code="DA824", name="interval-never-fires", severity="warning", tier="static", needs=())
def interval_never_fires(ctx):
    """An interval or a start point lies beyond the end of training: the setting has no effect.

    ## What it does
    Compares, in the training loop's unit (``train_cfg.max_epochs`` or ``max_iters``), the
    settings that say when something happens during training with the length of training:

    - ``train_cfg.val_interval`` larger than the training: validation runs once, after the last
      epoch (mmengine always validates at the end), never during training (``max_epochs + 1``,
      the zoo's way of asking for validation at the end only, is not reported);
    - ``default_hooks.checkpoint.interval`` larger than the training, in the same unit: no
      checkpoint is written during training, only the last one (none with ``save_last=False``);
    - a ``dynamic_intervals`` milestone after the end of training: that validation interval
      never applies (the zoo's ``max_iters + 1``, "validate at the end", is not reported);
    - ``PipelineSwitchHook.switch_epoch`` at or after ``max_epochs``: the second-stage pipeline
      (RTMDet's, without mosaic) is never switched to;
    - ``EMAHook`` ``begin_epoch``/``begin_iter`` after the end: the averaged model never starts.

    A scheduler that begins after training is DA604's; ``val_begin`` beyond the end and hooks
    counting epochs under an iteration loop are DA806's. Intervals counted in iterations under an
    epoch loop are not compared: the length of an epoch depends on the data.

    ## Why is this bad?
    Shortening a recipe (``max_epochs=300`` to 50) without the settings derived from it leaves
    them pointing past the end: RTMDet's switch to its second-stage pipeline at epoch 280 never
    happens, and training runs with strong augmentation to the end; a checkpoint interval of 50
    epochs in a 12-epoch run keeps only the final weights, and a validation interval beyond the end
    gives no validation curve and no best checkpoint before the run is over. Nothing fails.

    ## Example
    ```python
    _base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
    train_cfg = dict(max_epochs=50, val_interval=100)
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
    train_cfg = dict(max_epochs=50, val_interval=5, dynamic_intervals=[(40, 1)])
    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True,
                         priority=49),
                    dict(type='PipelineSwitchHook', switch_epoch=40,
                         switch_pipeline={{_base_.train_pipeline_stage2}})]
    ```

    ## Fix
    None: whether to shorten the interval or lengthen the training is the user's choice; the
    finding gives the length of training the setting must stay within.
    """
    cfg = ctx.cfg
    loop = train_loop(cfg)
    if loop is None or _num(loop[1]) is None or loop[1] <= 0:
        return
    unit, length, loop_key = loop
    max_name = loop_key.rsplit(".", 1)[-1]
    tc = cfg.get("train_cfg")
    end = f"{max_name}={length}"
    vi = _num(tc.get("val_interval", None))
    if vi is not None and vi > length + 1 and _validates(cfg):
        yield Violation(
            message=(f"train_cfg.val_interval={vi} is larger than {end}: validation never runs during training, "
                     f"only once after the last {unit} (no validation curve, no best checkpoint before the end)"),
            key_path="train_cfg.val_interval", evidence={"val_interval": vi, max_name: length},
            fix=f"set val_interval to at most {length} (e.g. {max(1, int(length) // 12 or 1)})")
    di = tc.get("dynamic_intervals", None)
    for i, pair in enumerate(di if isinstance(di, (list, tuple)) else []):
        m = _num(pair[0]) if isinstance(pair, (list, tuple)) and pair else None
        if m is not None and m > length + 1 and _validates(cfg):
            yield Violation(
                message=(f"train_cfg.dynamic_intervals[{i}] starts at {unit} {m}, after the end of training ({end}): "
                         f"its validation interval {pair[1] if len(pair) > 1 else '?'} never applies"),
                key_path=f"train_cfg.dynamic_intervals.{i}", evidence={"milestone": m, max_name: length},
                fix=f"move the milestone below {length} (the recipe's last stage)")
    for key, hook in _hooks(cfg):
        kind = node_type(hook)
        yield from _hook_checks(key, kind, hook, unit, length, end)


def _hook_checks(key, kind, hook, unit, length, end):
    if kind == "CheckpointHook":
        interval = _num(hook.get("interval", -1))
        h_unit = "epoch" if hook.get("by_epoch", True) else "iter"
        if interval is not None and interval > length and h_unit == unit:
            last = hook.get("save_last", True) is not False
            yield Violation(
                message=(f"{key}.interval={interval} is larger than {end}: no checkpoint is written during training"
                         + (", only the last one (save_last)" if last else ", and with save_last=False none at all")),
                key_path=f"{key}.interval", evidence={"interval": interval, "unit": unit, "length": length,
                                                      "save_last": last},
                fix=f"set the interval to at most {length}")
    elif kind == "PipelineSwitchHook" and unit == "epoch":
        switch = _num(hook.get("switch_epoch", None))
        if switch is not None and switch >= length:
            yield Violation(
                message=(f"{key}.switch_epoch={switch} is not below {end}: the pipeline is never switched (epochs "
                         f"count from 0 to {int(length) - 1}), and training runs with the first-stage pipeline to the end"),
                key_path=f"{key}.switch_epoch", evidence={"switch_epoch": switch, "max_epochs": length},
                fix=f"set switch_epoch below {length} (the recipe switches for its last epochs: max_epochs - stage2_num_epochs)")
    elif kind == "EMAHook":
        for name, h_unit in (("begin_epoch", "epoch"), ("begin_iter", "iter")):
            begin = _num(hook.get(name, None))
            if begin is not None and h_unit == unit and begin > length:
                yield Violation(
                    message=f"{key}.{name}={begin} is after the end of training ({end}): the averaged model never starts",
                    key_path=f"{key}.{name}", evidence={name: begin, "length": length},
                    fix=f"set {name} below {length}")

from detaudit.rule import Violation, rule

RELATIVE_TOLERANCE = 1e-6


@rule(code="DA906", name="lr-off-schedule", severity="warning", tier="training", needs=("lr_log",))
def lr_off_schedule(ctx):
    """The learning rate the training logged does not follow the configured ``param_scheduler``.

    ## What it does
    Replays the config's ``param_scheduler`` with mmengine's own scheduler classes, stepped
    as the Runner steps them (iteration-based after every iteration, epoch-based after every
    epoch), from the lr the config's optimizer gives the first parameter group (the one
    mmengine logs), and compares it with the logged ``lr`` at every logged iteration.
    ``auto_scale_lr`` is allowed for: the scale is read from the first record.

    ## Why is this bad?
    The schedule the paper and the config describe is not the one that ran: a launch resumed
    without its scheduler state restarts the warmup, a hook or a second scheduler changes the
    lr behind the config's back, a config edited after the run no longer describes it. The
    loss curves look plausible either way.

    ## Example
    ```python
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=12, by_epoch=True)]
    # ... but the logs show a constant lr: the scheduler never stepped
    ```

    ## Use instead
    ```python
    # resume with the scheduler state (resume=True), or audit the config the run really used
    ```
    """
    lr = ctx.lr_log
    off = [(it, logged, expected) for it, logged, expected in lr.points
           if abs(logged - expected) > RELATIVE_TOLERANCE * max(abs(logged), abs(expected), 1e-12)]
    if not off:
        return
    it, logged, expected = off[0]
    first = lr.points.index(off[0])
    where = f"at iteration {it}" if first else f"from the first logged iteration ({it}) on"
    yield Violation(
        message=f"the logged lr departs from the configured param_scheduler {where}: it is "
                f"{logged:.6g} where the schedule gives {expected:.6g} ({len(off)} of {len(lr.points)} logged iterations "
                f"differ; {lr.source})",
        key_path="param_scheduler" if ctx.config_value("param_scheduler", None) is not None else "optim_wrapper",
        evidence={"schedule": lr.schedule, "initial_lr": lr.initial_lr, "differing": len(off),
                  "logged_points": len(lr.points), "first": [[i, a, b] for i, a, b in off[:5]],
                  "note": lr.note or None},
        fix="resume with the scheduler state (resume=True), remove whatever else sets the lr, or audit the config "
            "the run really used")

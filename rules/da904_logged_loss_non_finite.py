from detaudit.rule import Violation, rule

from ._training import loss_location


@rule(code="DA904", name="logged-loss-non-finite", severity="error", tier="training", needs=("loss_log",))
def logged_loss_non_finite(ctx):
    """A loss term the training logged is NaN or infinite.

    ## What it does
    Reads every loss key the run logged, iteration by iteration (``DetAuditHook``: each
    process's own values; ``detaudit logs``: the scalar log), and reports each key with a
    non-finite value: where it first appeared and how often.

    ## Why is this bad?
    One NaN reaches every weight through backward and the optimizer step; from then on the
    model is garbage while the run goes on for days. mmengine logs the value but does not
    stop (mmdet's ``CheckInvalidLossHook`` checks only the total, every 50 iterations).

    ## Example
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=2.0))   # diverges
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02), clip_grad=dict(max_norm=35, norm_type=2))
    ```
    """
    log = ctx.loss_log
    for key, series in sorted(log.series.items()):
        if not series.nonfinite:
            continue
        at, value = series.first_nonfinite
        key_path, module = loss_location(ctx, key)
        yield Violation(
            message=f"{key} is {value} at iteration {at}: {series.nonfinite} of its {series.count} logged values "
                    f"are not finite ({log.source})",
            key_path=key_path, module_path=module,
            evidence={"key": key, "first_at": at, "value": str(value), "nonfinite": series.nonfinite,
                      "logged_times": series.count, "source": log.source},
            fix="lower the learning rate or add gradient clipping (optim_wrapper.clip_grad); check the inputs of "
                f"the module producing {key} for empty or degenerate boxes")

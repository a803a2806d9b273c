import math

from detaudit.rule import Violation, rule

from ._losses import loss_config_path, module_of_path


@rule(code="DA404", name="non-finite-loss", severity="error", tier="forward",
      needs=("loss_result", "input_size", "model"))
def non_finite_loss(ctx):
    """A loss term is NaN or infinite on the synthetic batch.

    ## What it does
    Runs the loss forward on a small synthetic batch (train mode, ground-truth boxes in
    every image) and checks every logged value. Each non-finite term is reported with the
    config entry of the loss that produced it; the total is reported only when no single
    term explains it.

    ## Why is this bad?
    One NaN term makes the total NaN, and the first optimizer step writes NaN into every
    weight it touches. On well-formed synthetic data the cause is in the configuration: a
    zero standard deviation in a box coder, a loss weight of ``inf``, a temperature of 0.

    ## Example
    ```python
    model = dict(roi_head=dict(bbox_head=dict(bbox_coder=dict(target_stds=[0., 0., 0., 0.]))))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(bbox_head=dict(bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]))))
    ```
    """
    values = ctx.loss_result.values
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    terms = {k: v for k, v in bad.items() if k != "loss"}
    if not terms and "loss" in bad:
        terms = {"loss": bad["loss"]}
    for key, value in terms.items():
        path = loss_config_path(ctx, key) if key != "loss" else None
        yield Violation(
            message=f"{key} is {value} on the synthetic batch (input {ctx.input_size[0]}x{ctx.input_size[1]})"
                    + (f"; it is configured at {path}" if path else ""),
            key_path=path or "model", module_path=module_of_path(path),
            evidence={"loss": key, "value": str(value),
                      "finite_terms": {k: round(v, 6) for k, v in values.items() if math.isfinite(v)}},
            fix="check the loss's weight and the coder/normalization parameters it depends on (zero stds, zero "
                "temperature, infinite weights)",
        )

from detaudit.rule import Violation, rule


@rule(code="DA502", name="loss-key-not-optimized", severity="error", tier="forward", needs=("loss_result",))
def loss_key_not_optimized(ctx):
    """A term of the loss dict carries a gradient but its key lacks ``loss``, so it is not optimized.

    ## What it does
    Looks at the dict the model's loss forward returns on a synthetic batch. mmengine's
    ``parse_losses`` sums only the entries whose key contains ``loss``; every other entry
    is logged only. An entry without ``loss`` in its key that still requires a gradient is
    reported: it was meant as a loss term and is not one.

    ## Why is this bad?
    The term shows up in the logs with a decreasing-looking value while nothing optimizes
    it: a contrastive or auxiliary objective named ``macl`` or ``aux_consistency`` silently
    contributes nothing, and its module (if nothing else uses it) never learns.

    ## Example
    ```python
    losses['macl'] = self.macl_head.loss(embeddings) * self.lambda1
    ```

    ## Use instead
    ```python
    losses['loss_macl'] = self.macl_head.loss(embeddings) * self.lambda1
    ```
    """
    losses = ctx.loss_result.losses  # first: under --no-exec this skips the rule before torch is imported
    import torch

    for key, value in losses.items():
        if "loss" in key:
            continue
        tensors = value if isinstance(value, (list, tuple)) else [value]
        if not any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors):
            continue
        shown = ctx.loss_result.values.get(key)
        yield Violation(
            message=f"'{key}' requires a gradient but its key lacks 'loss': parse_losses logs it"
                    + (f" ({shown:.4g})" if isinstance(shown, float) else "")
                    + " and leaves it out of the total, so nothing optimizes it",
            key_path="model",
            evidence={"key": key, "value": shown, "loss_keys": sorted(k for k in ctx.loss_result.losses if "loss" in k)},
            fix=f"rename it to 'loss_{key}' if it is an objective, or detach it if it is only a metric",
        )

from detaudit.rule import Violation, rule


@rule(code="DA103", name="frozen-bn-stats-drift", severity="error", tier="train",
      needs=("freeze_intents", "norm_layers", "step_result"))
def frozen_bn_stats_drift(ctx):
    """BatchNorm statistics inside a frozen module change during training.

    ## What it does
    For every module some intent says is frozen, finds the BatchNorm layers that are still
    in train mode after ``model.train()``, and confirms with the running mean/variance
    before and after one synthetic training step that their statistics move.

    ## Why is this bad?
    ``requires_grad=False`` (or ``lr_mult=0``) stops the weights, not the running
    statistics: in train mode every forward pass overwrites them with batch statistics of
    the new data, so the "frozen" features drift anyway, and with the small batches of
    detection training they drift toward noise.

    ## Example
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=False))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
    ```
    """
    step = ctx.step_result
    norm_layers = ctx.norm_layers
    for intent in ctx.freeze_intents:
        if intent.scope == "norm":
            continue
        covered = set(intent.params)
        if intent.scope == "all":
            prefix = intent.module + "."
            in_train = [n for n, training in norm_layers.items()
                        if training and (n.startswith(prefix) or n == intent.module)]
        else:
            in_train = [n for n, training in norm_layers.items()
                        if training and any(p.startswith(n + ".") for p in covered)]
        if not in_train:
            continue
        drift = {n: step.bn_drift.get(n, 0.0) for n in in_train}
        moved = [n for n, d in drift.items() if d > 0]
        max_drift = max(drift.values()) if drift else 0.0
        yield Violation(
            message=(f"{intent.module}: {len(in_train)} BatchNorm layers are in train mode after model.train() "
                     f"although {intent.source} says the module is frozen; {len(moved)} of them changed their "
                     f"running statistics in one synthetic step (max |delta| {max_drift:.3g})"),
            key_path=_norm_eval_key(ctx, intent), module_path=intent.module,
            evidence={"bn_in_train_mode": len(in_train), "bn_moved": len(moved), "max_delta": round(max_drift, 6),
                      "examples": in_train[:5], "intent_source": intent.source},
            fix=(f"set model.{intent.module}.norm_eval=True" if intent.module in ("backbone", "neck")
                 else f"keep the norm layers of {intent.module} in eval mode after every model.train()"),
        )


def _norm_eval_key(ctx, intent):
    if intent.module in ("backbone", "neck"):
        key = f"model.{intent.module}.norm_eval"
        if ctx.config_value(key, None) is not None:
            return key
        return f"model.{intent.module}"
    return intent.key_path

from collections import defaultdict

from detaudit.rule import Violation, rule


def freeze_fix(ctx, module: str) -> str:
    backbone = getattr(ctx.model, "backbone", None)
    if module == "backbone" and backbone is not None and hasattr(backbone, "res_layers"):
        return ("set model.backbone.frozen_stages=4 and norm_eval=True (and drop the lr_mult=0 key), "
                "or freeze it with a hook that sets requires_grad=False and keeps its norm layers in eval")
    return (f"set requires_grad=False on {module} (e.g. a freeze hook run before training) and keep its "
            "norm layers in eval mode; drop the lr_mult=0 key")


@rule(code="DA101", name="lr-mult-zero-freeze", severity="error", tier="optimizer")
def lr_mult_zero_freeze(ctx):
    """Parameters are "frozen" with ``lr_mult=0`` but still require gradients.

    ## What it does
    Finds ``optim_wrapper.paramwise_cfg.custom_keys`` entries with ``lr_mult=0`` whose
    parameters still have ``requires_grad=True`` once the model is built and in train mode,
    and confirms in the built optimizer that their learning rate is 0.

    ## Why is this bad?
    A learning rate of 0 is not freezing. Gradients are still computed and stored for
    every such parameter (memory, time, DDP traffic), BatchNorm running statistics of the
    module still change every iteration, optimizers with decoupled weight decay or
    momentum buffers can still touch the weights, and nobody reading the model can see
    the intent.

    ## Example
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=3e-4),
                         paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=3e-4))
    ```

    ## References
    - mmengine ``DefaultOptimWrapperConstructor`` (custom_keys, lr_mult, decay_mult)
    """
    from detaudit.intent import lr_mult_zero, module_for_key

    zero = lr_mult_zero(ctx)
    if not zero:
        return
    lrs = ctx.param_lr
    info = {p.name: p for p in ctx.params}
    custom_keys = ctx.config_value("optim_wrapper.paramwise_cfg.custom_keys", {}) or {}
    for key, names in zero.items():
        live = [n for n in names if info[n].requires_grad]
        if not live:
            continue
        modules = defaultdict(int)
        for n in live:
            modules[module_for_key(n, key)] += info[n].numel
        numel = sum(info[n].numel for n in live)
        lr_values = sorted({lrs[n]["lr"] for n in live if n in lrs})
        module_list = sorted(modules)
        module = module_list[0] if len(module_list) == 1 else None
        label = module or f"{len(module_list)} modules"
        yield Violation(
            message=(f"{label}: custom key '{key}' sets lr_mult=0 on {len(live)} parameters ({numel:,} elements) "
                     "that still have requires_grad=True; lr 0 is not freezing: gradients are still computed "
                     "and BatchNorm statistics still move"),
            key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}.lr_mult",
            module_path=module,
            evidence={"key": key, "modules": module_list[:20], "params": len(live), "numel": numel,
                      "optimizer_lr": lr_values, "decay_mult": custom_keys.get(key, {}).get("decay_mult")},
            fix=freeze_fix(ctx, module or module_list[0]),
        )

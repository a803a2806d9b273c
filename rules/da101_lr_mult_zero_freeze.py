from collections import defaultdict

from detaudit.rule import SAFE, Autofix, Violation, rule, tier_rank
from detaudit.rule.fixes import delete_key, set_key
from detaudit.rule.custom_keys import lr_mult_zero, module_for_key


def freeze_fix(ctx, module: str) -> str:
    backbone = getattr(ctx.model, "backbone", None)
    if module == "backbone" and backbone is not None and hasattr(backbone, "res_layers"):
        return ("set model.backbone.frozen_stages=4 and norm_eval=True (and drop the lr_mult=0 key), "
                "or freeze it with a hook that sets requires_grad=False and keeps its norm layers in eval")
    return (f"set requires_grad=False on {module} (e.g. a freeze hook run before training) and keep its "
            "norm layers in eval mode; drop the lr_mult=0 key")


@rule(code="DA101", name="lr-mult-zero-freeze", severity="error", tier="static",
      needs=("model", "params", "param_lr"))
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

    With ``--no-exec``, or at a tier below ``optimizer`` (``--tier static``, ``build``, as
    pre-commit runs it), there is no built optimizer to confirm: the rule then reads the
    config alone and reports an ``lr_mult=0`` key unless the config visibly freezes what the
    key names (``frozen_stages`` covering every stage of that model part, or a freeze hook
    listing it).

    ## Fix
    Safe, for a ResNet-like ``backbone`` key (one with stages): ``frozen_stages`` is set to its
    number of stages, ``norm_eval=True``, and the ``lr_mult=0`` custom key is dropped; the
    merged config changes at those three keys only, and the backbone is frozen for real
    (``requires_grad=False``, norm layers in eval), which is what ``lr_mult=0`` was meant to do.
    Other model parts have no fix: how to freeze them (a hook, a ``frozen`` argument) depends
    on the module.

    ## References
    - mmengine ``DefaultOptimWrapperConstructor`` (custom_keys, lr_mult, decay_mult)
    """
    if ctx.no_exec or tier_rank(ctx.max_tier) < tier_rank("optimizer"):  # no optimizer: the config alone
        yield from _static_lr_mult_zero(ctx)
        return
    zero = lr_mult_zero(ctx.config_value, lambda: [p.name for p in ctx.params])
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
            autofix=_freeze_autofix(ctx, key, _stages_of(getattr(ctx.model, key, None))),
        )


def _static_lr_mult_zero(ctx):
    """--no-exec reading: lr_mult=0 keys whose model part the config does not freeze itself."""
    custom_keys = ctx.config_value("optim_wrapper.paramwise_cfg.custom_keys", None) or {}
    hooks = ctx.config_value("custom_hooks", None) or []
    hooked = {m for h in hooks if isinstance(h, dict) and "Freeze" in str(h.get("type", ""))
              for m in (h.get("modules") or []) if isinstance(m, str)}
    for key, value in custom_keys.items():
        if not isinstance(value, dict) or value.get("lr_mult", None) is None:
            continue
        try:
            if float(value["lr_mult"]) != 0.0:
                continue
        except (TypeError, ValueError):
            continue
        part = ctx.config_value(f"model.{key}", None)
        if key in hooked:
            continue
        if isinstance(part, dict):
            stages = part.get("frozen_stages", None)
            num_stages = part.get("num_stages", 4)
            if isinstance(stages, int) and isinstance(num_stages, int) and stages >= num_stages:
                continue
            why = (f"model.{key}.frozen_stages={stages} freezes only part of it" if isinstance(stages, int)
                   and stages >= 0 else f"model.{key} sets no frozen_stages")
        else:
            why = "no frozen_stages or freeze hook in the config covers it"
        yield Violation(
            message=(f"custom key '{key}' sets lr_mult=0, but the config does not freeze it ({why}); lr 0 is "
                     "not freezing: gradients are still computed and BatchNorm statistics still move "
                     "(read from the config: parameter counts need the model)"),
            key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}.lr_mult",
            module_path=key,
            evidence={"key": key, "decay_mult": value.get("decay_mult"), "read": "config"},
            fix=(f"set model.{key}.frozen_stages to its number of stages and norm_eval=True (and drop the "
                 "lr_mult=0 key), or freeze it with a hook that sets requires_grad=False"),
            autofix=_freeze_autofix(ctx, key, part.get("num_stages", 4) if isinstance(part, dict) and (
                "frozen_stages" in part or "num_stages" in part) else None),
        )


def _stages_of(module):
    """The stage count of a ResNet-like backbone (its ``res_layers``), None for anything else."""
    layers = getattr(module, "res_layers", None)
    return len(layers) if isinstance(layers, (list, tuple)) and layers else None


def _freeze_autofix(ctx, key, stages):
    """frozen_stages/norm_eval on a backbone that takes them, instead of its lr_mult=0 key."""
    if key != "backbone" or not isinstance(stages, int):
        return None
    return Autofix(SAFE, f"model.{key}.frozen_stages={stages}, norm_eval=True, and drop the lr_mult=0 key",
                   [set_key(f"model.{key}.frozen_stages", stages), set_key(f"model.{key}.norm_eval", True),
                    delete_key(f"optim_wrapper.paramwise_cfg.custom_keys.{key}")])

from detaudit.rule import Violation, rule
from detaudit.rule.custom_keys import custom_keys

MULTS = {"norm_decay_mult": "norm", "bias_decay_mult": "bias"}


def _kinds(model):
    """(parameter name, 'norm' or 'bias') of the trained parameters the two multipliers are for,
    as mmengine's default constructor tells them apart (norm layers; biases of other layers)."""
    from torch.nn import GroupNorm, LayerNorm
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.instancenorm import _InstanceNorm

    norms = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)
    for prefix, module in model.named_modules():
        is_norm = isinstance(module, norms)
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue  # mmengine's constructor gives a frozen parameter no settings
            full = f"{prefix}.{name}" if prefix else name
            if is_norm:
                yield full, "norm"
            elif name == "bias":
                yield full, "bias"


@rule(code="DA835", name="custom-key-skips-norm-decay", severity="warning", tier="build", needs=("model",))
def custom_key_skips_norm_decay(ctx):
    """A ``custom_keys`` entry takes norm or bias parameters away from ``norm_decay_mult``/``bias_decay_mult``.

    ## What it does
    With a weight decay and ``paramwise_cfg.norm_decay_mult`` (or ``bias_decay_mult``) set, finds the trained
    norm-layer parameters (or the other layers' biases) of the built model that a ``custom_keys`` entry
    without its own ``decay_mult`` matches (mmengine gives a parameter the longest key it
    contains), and reports each such key with how many of those parameters it takes.

    ## Why is this bad?
    mmengine's ``DefaultOptimWrapperConstructor`` applies a parameter's custom key *instead
    of* the norm and bias multipliers: once ``'backbone': dict(lr_mult=0.1)`` matches the
    backbone's BatchNorm weights, they get ``decay_mult`` 1.0, the key's default, and
    ``norm_decay_mult=0`` no longer reaches them. The optimizer builds, the run trains, and
    the norm layers the setting was written for are decayed anyway.

    ## Example
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.0,
                                            custom_keys={'backbone': dict(lr_mult=0.1)}))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={
        'backbone': dict(lr_mult=0.1),
        'backbone.bn': dict(lr_mult=0.1, decay_mult=0.0),   # longer keys win: the norms keep no decay
        'backbone.layer': dict(lr_mult=0.1)}))
    ```
    """
    keys = custom_keys(ctx)
    paramwise = ctx.config_value("optim_wrapper.paramwise_cfg", None)
    if not keys or not hasattr(paramwise, "get"):
        return
    decay = ctx.config_value("optim_wrapper.optimizer.weight_decay", None)
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or decay <= 0:
        return  # no weight decay: neither the multipliers nor a key's decay_mult change anything
    wanted = {kind: (mult, paramwise.get(mult)) for mult, kind in MULTS.items()
              if isinstance(paramwise.get(mult, None), (int, float)) and paramwise.get(mult) != 1}
    if not wanted:
        return
    order = sorted(sorted(keys), key=len, reverse=True)  # mmengine's: longest first
    taken: dict[tuple[str, str], list[str]] = {}
    for name, kind in _kinds(ctx.model):
        if kind not in wanted:
            continue
        key = next((k for k in order if k in name), None)
        if key is not None and hasattr(keys[key], "get") and "decay_mult" not in keys[key]:
            taken.setdefault((key, kind), []).append(name)
    for (key, kind), names in sorted(taken.items()):
        mult, value = wanted[kind]
        what = "norm-layer parameters" if kind == "norm" else "biases"
        yield Violation(
            message=(f"optim_wrapper.paramwise_cfg.custom_keys['{key}'] matches {len(names)} {what} "
                     f"({', '.join(names[:2])}{', ...' if len(names) > 2 else ''}) and sets no decay_mult: mmengine "
                     f"applies a custom key instead of {mult}={value:g}, so they keep the full weight decay"),
            key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}",
            evidence={"key": key, "multiplier": mult, "value": value, "count": len(names), "params": names[:10]},
            fix=f"give custom_keys['{key}'] decay_mult={value:g} if the whole part may do without decay, or add a "
                f"longer key for its {what} with decay_mult={value:g}")

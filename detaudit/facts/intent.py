"""Freeze intent: which modules somebody says should not train, and who says so."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..rule.custom_keys import lr_mult_zero, module_for_key


@dataclass
class FreezeIntent:
    """Somebody says parameters under ``module`` should not train."""

    module: str
    source: str              # "lr_mult=0", "frozen_stages=1", "--expect-frozen", ...
    key_path: str | None
    params: list[str]        # the parameter names the intent covers
    scope: str = "all"       # "all" parameters of the module, or "norm" layers only
    detail: str = ""


def collect_intents(ctx) -> list[FreezeIntent]:
    intents: list[FreezeIntent] = []
    names = [p.name for p in ctx.params]
    model = ctx.model

    def under(module: str) -> list[str]:
        prefix = module + "."
        return [n for n in names if n.startswith(prefix) or n == module]

    # 1. paramwise_cfg lr_mult=0
    for key, pnames in lr_mult_zero(ctx.config_value, lambda: names).items():
        by_module: dict[str, list[str]] = defaultdict(list)
        for n in pnames:
            by_module[module_for_key(n, key)].append(n)
        for module, ps in by_module.items():
            intents.append(FreezeIntent(module, "lr_mult=0", f"optim_wrapper.paramwise_cfg.custom_keys.{key}.lr_mult",
                                        ps, detail=f"custom key '{key}'"))

    # 2. frozen_stages on ResNet-like backbones (stem + res_layers[:n])
    backbone = getattr(model, "backbone", None)
    stages = ctx.config_value("model.backbone.frozen_stages", None)
    if backbone is not None and isinstance(stages, int) and stages >= 0 and hasattr(backbone, "res_layers"):
        stem = [n for n in ("stem", "conv1", "bn1", getattr(backbone, "norm1_name", "bn1"))
                if getattr(backbone, n, None) is not None]
        layers = list(backbone.res_layers)[:stages]
        parts = list(dict.fromkeys(stem + layers))
        covered = [n for part in parts for n in under(f"backbone.{part}")]
        what = "stem" + (f"+{'+'.join(layers)}" if layers else "")
        intents.append(FreezeIntent("backbone", f"frozen_stages={stages}", "model.backbone.frozen_stages",
                                    covered, scope="stages", detail=f"frozen_stages={stages} freezes {what} only"
                                    if len(layers) < len(backbone.res_layers) else f"frozen_stages={stages}"))

    # 3. norm layers with requires_grad=False
    for top in ("backbone", "neck"):
        rg = ctx.config_value(f"model.{top}.norm_cfg.requires_grad", None)
        sub = getattr(model, top, None)
        if rg is False and sub is not None:
            from torch.nn.modules.batchnorm import _NormBase
            from torch.nn import GroupNorm, LayerNorm

            norm_mods = [n for n, m in sub.named_modules() if isinstance(m, (_NormBase, GroupNorm, LayerNorm))]
            covered = [p for n in norm_mods for p in under(f"{top}.{n}")]
            intents.append(FreezeIntent(top, "norm_cfg.requires_grad=False", f"model.{top}.norm_cfg.requires_grad",
                                        covered, scope="norm"))

    # 4. freeze hooks in custom_hooks
    for i, hook in enumerate(ctx.cfg.get("custom_hooks", None) or []):
        if isinstance(hook, dict) and "Freeze" in str(hook.get("type", "")):
            for module in hook.get("modules", None) or []:
                intents.append(FreezeIntent(module, str(hook.get("type")), f"custom_hooks.{i}.modules", under(module)))

    # 5. the user (--expect-frozen, settings, pytest marker)
    for module in ctx.options.expect_frozen:
        intents.append(FreezeIntent(module, ctx.options.expect_frozen_source, None, under(module)))
    return intents

"""How ``paramwise_cfg.custom_keys`` entries land on parameter names (mmengine matches
each key as a plain substring, longest key first)."""
from __future__ import annotations

import re
from collections import defaultdict

DEFAULT_CONSTRUCTORS = (None, "DefaultOptimWrapperConstructor", "mmengine.DefaultOptimWrapperConstructor")


def custom_keys(ctx) -> dict:
    """The config's custom keys, or {} when a non-default optimizer constructor reads
    ``paramwise_cfg`` its own way."""
    ow = ctx.config_value("optim_wrapper", None)
    if not hasattr(ow, "get"):
        return {}
    constructor = ow.get("constructor", None)
    if not (constructor in DEFAULT_CONSTRUCTORS or str(constructor).endswith("DefaultOptimWrapperConstructor")):
        return {}
    keys = ctx.config_value("optim_wrapper.paramwise_cfg.custom_keys", None)
    return dict(keys) if hasattr(keys, "keys") else {}


def word_aligned(name: str, start: int, end: int) -> bool:
    """The match ``name[start:end]`` begins and ends on word boundaries ('.' and '_'
    separate words; a trailing number or plural 's' stays in the word: ``norm`` fits
    ``norm1`` and ``norms``, ``backbon`` does not fit ``backbone``)."""
    if start > 0 and name[start - 1] not in "._":
        return False
    rest = name[end:]
    return re.match(r"^(s?|\d*)(?:[._]|$)", rest) is not None


def designated_module(name: str, key: str) -> tuple[str, bool] | None:
    """The module path a key's first occurrence in a parameter name designates (the
    components the match touches) and whether the key names it exactly (whole components,
    a trailing number allowed)."""
    i = name.find(key)
    if i < 0:
        return None
    end = i + len(key)
    comp_start = name.rfind(".", 0, i) + 1
    comp_end = name.find(".", end)
    comp_end = len(name) if comp_end < 0 else comp_end
    module = name[:comp_end]
    if comp_end == len(name) and "." in name:
        module = name  # the key reaches into the parameter's own name (e.g. 'bias')
    exact = i == comp_start and re.fullmatch(r"\d*", name[end:comp_end]) is not None
    return module, exact


def effective_custom_key(name: str, keys: dict) -> str | None:
    """The ``paramwise_cfg.custom_keys`` entry mmengine applies to a parameter: keys are
    tried longest first (ties alphabetically) and matched as substrings of the name."""
    for key in sorted(sorted(keys), key=len, reverse=True):
        if key in name:
            return key
    return None


def module_for_key(name: str, key: str) -> str:
    """The module path a key designates inside a parameter name:
    ('backbone.layer1.0.conv1.weight', 'backbone') -> 'backbone'."""
    start = name.find(key)
    end = name.find(".", start + len(key))
    if end < 0:
        return name.rsplit(".", 1)[0] if "." in name else name
    return name[:end]


def lr_mult_zero(config_value, param_names) -> dict[str, list[str]]:
    """custom key -> names of the parameters whose effective ``lr_mult`` is 0.
    ``config_value`` reads the config (``ctx.config_value``); ``param_names`` is called for the
    parameter names only when some key sets ``lr_mult=0`` (a config without one needs no model)."""
    keys = config_value("optim_wrapper.paramwise_cfg.custom_keys", None) or {}
    zero_keys = {k for k, v in keys.items()
                 if isinstance(v, dict) and v.get("lr_mult", None) is not None and float(v["lr_mult"]) == 0.0}
    if not zero_keys:
        return {}
    out: dict[str, list[str]] = defaultdict(list)
    for name in param_names():
        key = effective_custom_key(name, keys)
        if key in zero_keys:
            out[key].append(name)
    return dict(out)

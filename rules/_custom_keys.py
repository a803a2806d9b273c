"""How ``paramwise_cfg.custom_keys`` entries land on parameter names (mmengine matches
each key as a plain substring, longest key first). Shared by DA301 and DA302."""
from __future__ import annotations

import re

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

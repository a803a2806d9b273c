import difflib
import re

from detaudit.rule import Violation, rule

from detaudit.rule.custom_keys import custom_keys, word_aligned
from detaudit.rule.source import source_of


def _words(names, dotted: bool):
    """Suggestions for a typo: the model's module names, or its module paths when the key
    itself is a dotted path."""
    out = set()
    for n in names:
        parts = n.split(".")
        for i, p in enumerate(parts):
            out.add(".".join(parts[: i + 1]) if dotted else p)
    return sorted(w for w in out if not w.isdigit())


@rule(code="DA301", name="custom-key-unmatched", severity="warning", tier="build", needs=("model", "params"))
def custom_key_unmatched(ctx):
    """A ``paramwise_cfg.custom_keys`` key names no parameter of the model.

    ## What it does
    Matches every ``custom_keys`` key against the built model's parameter names the way
    mmengine does (as a substring) and reports keys that match no parameter, and keys
    that match only from inside another word (``backbon`` inside ``backbone``), with the
    closest module names as suggestions. A key that names a parameter the model's own
    classes create under other settings (Swin's ``absolute_pos_embed`` when
    ``use_abs_pos_embed=False``: configs share one ``custom_keys`` across variants) is not
    reported.

    ## Why is this bad?
    mmengine does not complain about a key that matches nothing: the learning-rate or
    weight-decay multiplier is silently not applied, typically after a typo or after a
    module was renamed (``bbox_head`` → ``roi_head.bbox_head``, ``backbone`` →
    ``backbone_rgb``). A key that only works because it is a fragment of a longer name
    is a typo waiting to match something else.

    ## Example
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backone': dict(lr_mult=0.1)}))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    ```
    """
    keys = custom_keys(ctx)
    if not keys:
        return
    names = [p.name for p in ctx.params]
    for key in keys:
        if not isinstance(key, str) or not key:
            continue
        hits = [n for n in names if key in n]
        aligned = [n for n in hits if any(word_aligned(n, i, i + len(key)) for i in _occurrences(n, key))]
        if aligned:
            continue
        if not hits and _named_in_model_code(ctx.model, key):
            continue  # a parameter these classes create only under other settings (Swin's absolute_pos_embed)
        suggestions = difflib.get_close_matches(key, _words(names, '.' in key), n=3, cutoff=0.6)
        settings = keys[key]
        if not hits:
            msg = f"custom key '{key}' matches no parameter of the model, so {_shown(settings)} is never applied"
        else:
            inside = sorted({_word_around(n, key) for n in hits})
            msg = (f"custom key '{key}' names no module: it applies to {len(hits)} parameter(s) only because it is "
                   f"part of the longer name(s) {', '.join(inside[:3])}")
        if suggestions:
            msg += f"; did you mean {' or '.join(repr(s) for s in suggestions)}?"
        yield Violation(
            message=msg,
            key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}",
            evidence={"key": key, "matched_params": len(hits), "suggestions": suggestions,
                      "settings": _plain(settings)},
            fix=f"rename the key to {suggestions[0]!r}" if suggestions else "remove the key or name an existing module",
        )


def _named_in_model_code(model, key: str) -> bool:
    """Whether the key's last part is an identifier in the source of one of the model's
    module classes: the parameter exists for other settings of the same architecture."""
    word = re.compile(rf"\b{re.escape(key.split('.')[-1])}\b")
    seen = set()
    for module in model.modules():
        cls = type(module)
        if cls in seen or cls.__module__.startswith("torch."):
            continue
        seen.add(cls)
        try:
            if word.search(source_of(cls)):
                return True
        except (OSError, TypeError):
            continue
    return False


def _occurrences(name, key):
    i = name.find(key)
    while i >= 0:
        yield i
        i = name.find(key, i + 1)


def _word_around(name, key):
    i = name.find(key)
    start = max(name.rfind(".", 0, i), name.rfind("_", 0, i)) + 1
    ends = [e for e in (name.find(".", i + len(key)), name.find("_", i + len(key))) if e >= 0]
    return name[start: min(ends) if ends else len(name)]


def _shown(settings):
    if hasattr(settings, "items"):
        return ", ".join(f"{k}={v}" for k, v in settings.items()) or "its setting"
    return repr(settings)


def _plain(settings):
    if hasattr(settings, "items"):
        return {str(k): (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                for k, v in settings.items()}
    return str(settings)

"""A config read as data (``--no-exec``), without mmengine.

The ``--no-exec`` reader produces plain dictionaries. :class:`DataConfig` gives them the
parts of mmengine's ``Config`` / ``ConfigDict`` interface that the rules use (dict access,
attribute access, ``filename``) and ``--cfg-options`` merging with mmengine's rules
(:func:`merge_options`, ``Config.merge_from_dict(..., allow_list_keys=True)``), so that a
static audit needs neither mmengine nor torch: the light pre-commit hook runs in an
environment that has only detaudit's own dependencies. :func:`parse_option_value` reads a
``--cfg-options`` value as mmengine's ``DictAction`` does.
"""
from __future__ import annotations

from typing import Any

from .bases import DELETE_KEY


class DataConfig(dict):
    """A dict whose nested dicts (also inside lists and tuples) are DataConfigs, readable
    as attributes like mmengine's ``ConfigDict``."""

    def __init__(self, data: dict | None = None, *, filename: str | None = None):
        super().__init__()
        for key, value in (data or {}).items():
            dict.__setitem__(self, key, _wrap(value))
        object.__setattr__(self, "filename", filename)

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value) -> None:
        if name == "filename":
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __setitem__(self, key, value) -> None:
        dict.__setitem__(self, key, _wrap(value))

    def __deepcopy__(self, memo):
        import copy

        return DataConfig({k: copy.deepcopy(v, memo) for k, v in self.items()}, filename=self.filename)

    def to_dict(self) -> dict:
        return _unwrap(self)

    def merge_from_dict(self, options: dict) -> None:
        """``--cfg-options``: dotted keys merged with mmengine's rules (see :func:`merge_options`)."""
        merged = merge_options(options, self)
        dict.clear(self)
        for key, value in merged.items():
            dict.__setitem__(self, key, _wrap(value))


def _wrap(value):
    if isinstance(value, DataConfig):
        return value
    if isinstance(value, dict):
        return DataConfig(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if type(value) is tuple:
        return tuple(_wrap(v) for v in value)
    return value


def _unwrap(value):
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if type(value) is tuple:
        return tuple(_unwrap(v) for v in value)
    return value


# --------------------------------------------------------------------------- --cfg-options
def merge_options(options: dict, cfg: dict) -> dict:
    """mmengine's ``Config.merge_from_dict(options, allow_list_keys=True)``: each dotted key
    becomes a nested dict, merged into a copy of ``cfg``. A digit key indexes a list (out of
    range: KeyError); a dict merges into the dict (or list) under its key unless it says
    ``_delete_=True``; a dict over any other value raises TypeError; anything else replaces."""
    nested: dict = {}
    for full_key, value in options.items():
        node = nested
        *parents, last = str(full_key).split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise TypeError(f"--cfg-options sets {part!r} both to a value and to keys below it")
        node[last] = value
    return _merge(nested, cfg)


def _merge(a: dict, b: Any):
    if not hasattr(a, "items"):
        raise TypeError(f"cannot merge {a!r} into {type(b).__name__}: set the whole item, not one of its fields")
    b = list(b) if isinstance(b, list) else dict(b)
    for key, value in a.items():
        if isinstance(b, list):
            if not key.isdigit():
                raise TypeError(f"list index must be a number, got {key!r}")
            index = int(key)
            if index >= len(b):
                raise KeyError(f"Index {index} exceeds the length of list {b}")
            b[index] = _merge(value, b[index])
        elif isinstance(value, dict):
            value = dict(value)
            if key in b and not value.pop(DELETE_KEY, False):
                if not isinstance(b[key], (dict, list)):
                    raise TypeError(f"--cfg-options gives keys below {key!r}, which is a "
                                    f"{type(b[key]).__name__} in the config, not a dict "
                                    f"(add {key}.{DELETE_KEY}=True to replace it)")
                b[key] = _merge(value, b[key])
            else:
                b[key] = value
        else:
            b[key] = value
    return b


def parse_option_value(text: str):
    """A ``--cfg-options`` value as mmengine's ``DictAction`` reads it: ``1`` an int, ``0.5`` a
    float, ``true``/``False`` booleans, ``None``; ``[a,b]`` a list, ``(a,b)`` a tuple, nested;
    ``a,b`` (a comma outside brackets) a list; anything else the string itself. Quotes around
    the whole value and every space are dropped."""
    text = text.strip("'\"").replace(" ", "")
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        raise ValueError(f"imbalanced brackets in {text!r}")
    is_tuple = text.startswith("(") and text.endswith(")")
    if is_tuple or (text.startswith("[") and text.endswith("]")):
        text = text[1:-1]
    elif "," not in text:
        return _scalar(text)
    items = []
    while text:
        end = _top_level_comma(text)
        items.append(parse_option_value(text[:end]))
        text = text[end + 1:]
    return tuple(items) if is_tuple else items


def _top_level_comma(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            return i
    return len(text)


def _scalar(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "None":
        return None
    return text

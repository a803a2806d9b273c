"""An assertion on a dict the config wrote, traced to the key that wrote it.

Builders deep in a library assert on the dicts they are handed (``assert 'num_groups' in cfg_``
in mmcv's ``build_norm_layer``, given a backbone's ``norm_cfg = dict(type='GN')``): the source
line names a local variable, not a config key. The failure records the asserting frame's values
(:func:`detaudit.errors.asserted_values`); a dict among them that equals a dict of the config
(``_scope_`` aside) is the one the config wrote, and its key is the one to edit. The failing
component's own dicts come first; a dict the config writes in more than two places points at none.
"""
from __future__ import annotations

import re
from typing import Any

from .config import is_mapping, walk_dicts
from .explanation import Explanation

REQUIRED_KEY = re.compile(r"""['"](\w+)['"]\s+in\s+(\w+)""")


def asserted_dict(cfg, err, comps: list[str]) -> list[Explanation]:
    asserted = (getattr(err, "extra", None) or {}).get("asserted") or {}
    values = {name: v for name, v in (asserted.get("values") or {}).items() if isinstance(v, dict) and v}
    if err.type != "AssertionError" or not values or not is_mapping(cfg):
        return []
    source, function = asserted.get("source", "assert"), asserted.get("function", "")
    required = REQUIRED_KEY.search(source)
    written = [(path, _plain(d)) for top in cfg.keys() for path, d in walk_dicts(cfg[top], top)]
    for name, value in values.items():
        matches = [path for path, d in written if d == _without_scope(value)]
        if not matches or len(matches) > 2:
            continue
        mine = [p for p in matches if any(p == c or p.startswith(c + ".") for c in comps)] or matches
        path = mine[0]
        missing = required.group(1) if required and required.group(1) not in value else None
        what = f"has no {missing!r}" if missing else "is what it tested"
        return [Explanation(path, f"`{source}` failed in {function}(): {path} = {_show(value)} {what}",
                            {"assert": source, "function": function, "given_as": name, "value": value,
                             "required_key": missing},
                            f"add {missing!r} to {path}" if missing else f"check {path} against what {function}() accepts")]
    return []


def _without_scope(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "_scope_"}


def _plain(node) -> Any:
    if is_mapping(node):
        return {str(k): _plain(v) for k, v in node.items() if k != "_scope_"}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def _show(value: dict) -> str:
    text = "dict(" + ", ".join(f"{k}={v!r}" for k, v in value.items()) + ")"
    return text if len(text) <= 160 else text[:157] + "..."

"""What a component dict must carry for its registry to build it: a ``type``, and the constructor's
arguments without default. Shared by DA843 and ``scripts/zoo_required_args.py``, which walks mmdet's
zoo the same way to learn which places always carry a type and which arguments the configs always
write (the others are injected by the part that builds the dict: a head's ``train_cfg``, a
sampler's ``dataset``, a scheduler's ``optimizer``).

A dict's place is its nearest typed ancestor's type and the keys from there, list indices as ``*``
(``('FasterRCNN', 'backbone')``, ``('CocoDataset', 'pipeline.*')``); a dict with no typed ancestor
is placed under ``(config)`` by its key path (``('(config)', 'train_dataloader.sampler')``).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from detaudit.rule.config import is_mapping, node_type, walk_dicts

from ._component_dicts import own_inits, registry_built, runner_roots

ROOT_OWNER = "(config)"
TABLE = Path(__file__).with_name("zoo_required_args.json")


def _starred(rel: str) -> str:
    return ".".join("*" if p.isdigit() else p for p in rel.split("."))


def component_dicts(cfg):
    """(key path, dict, place, what building it is called) of every dict the registries build
    with all its keys (``component_roots`` and ``registry_built``, as DA831 walks them, and the
    optimizer and visualizer)."""
    for root, node, built in runner_roots(cfg):
        typed: dict[str, str] = {}
        for path, d in walk_dicts(node, root):
            if not registry_built(path):
                continue
            parts = path.split(".")
            owner = next((".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)
                          if ".".join(parts[:i]) in typed), None)
            place = (typed[owner], _starred(path[len(owner) + 1:])) if owner else (ROOT_OWNER, _starred(path))
            if node_type(d):
                typed[path] = node_type(d)
            yield path, d, place, built


def qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', '?'))}"


def required_args(obj) -> list[str] | None:
    """The keyword arguments without default of what a registry calls for ``obj``: a class's first
    own constructor in its MRO (arguments a ``**kwargs`` passes on to a base are left out), or a
    function's signature; None when it cannot be read."""
    import inspect

    def without_default(params):
        return [n for n, p in params if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    if inspect.isclass(obj):
        for _klass, _init, params in own_inits(obj):
            return None if params is None else without_default(list(params.items())[1:])  # after self
        return []
    try:
        return without_default(inspect.signature(obj).parameters.items())
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=1)
def zoo_table() -> dict:
    """The table ``scripts/zoo_required_args.py`` wrote: ``typed`` places (``owner|keys`` -> how many
    zoo dicts there, all typed) and ``required`` arguments (class -> argument -> [given, left out])."""
    try:
        return json.loads(TABLE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"typed": {}, "required": {}}


def place_key(place: tuple[str, str]) -> str:
    return f"{place[0]}|{place[1]}"


def always_typed(place: tuple[str, str]) -> bool:
    return place_key(place) in zoo_table()["typed"]


def always_given(cls_name: str, arg: str) -> bool:
    given, left_out = zoo_table()["required"].get(cls_name, {}).get(arg, (0, 1))
    return given > 0 and left_out == 0


def dataloader_gaps(dl) -> list[str]:
    """What mmengine's ``Runner.build_dataloader`` pops without a default beyond ``dataset`` and
    ``sampler`` (DA809's): ``batch_size`` when a ``batch_sampler`` dict is given."""
    return ["batch_size"] if is_mapping(dl.get("batch_sampler", None)) and "batch_size" not in dl else []


def history_of(ctx):
    """The ``key_history`` fact, or None for a config given as an object (no merges to tell)."""
    from detaudit.rule import FactUnavailable

    try:
        return ctx.key_history
    except FactUnavailable:
        return None


def dropped_by_delete(history, path: str):
    """(the dict that said ``_delete_=True``, where it did, the keys the base had given it that
    the config no longer has, where the base wrote it) for ``path`` or its nearest ancestor whose
    base value a ``_delete_=True`` threw away; None when none did (or there is no history)."""
    from detaudit.rule.merge import where

    if history is None:
        return None
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        at = ".".join(parts[:i])
        thrown = [a for a in history.of(at) if a.reason == "_delete_=True" and a.by is not None]
        if not thrown:
            continue
        base, prefix = thrown[-1], at + "."
        dropped = []
        for child in history.paths(at):
            rest = child[len(prefix):] if child.startswith(prefix) else ""
            if rest and "." not in rest and history.final(child) is None and any(
                    a.reason == "_delete_=True" and a.by == base.by for a in history.of(child)):
                dropped.append(rest)
        return at, where(base.by), dropped, where(base)
    return None

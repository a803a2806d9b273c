"""Cross-component contracts, as data: what mmdet's own code and docstrings require of one
component given another, checked on a merged config.

A :class:`Contract` names the component types it applies to, the keys it reads (relative to
the component's dict, or absolute ``model.…`` keys of a neighbour), the file:line of mmdet 3.3
where the contract is stated (an ``assert``, a docstring, the line that silently relies on it),
what happens when it is broken (``bites``) and a predicate: a function of a :class:`Site` (the
component's dict, where it sits, and its neighbours) that yields a :class:`Breach` for each key
that breaks it. The entries are in :mod:`.contract_table` (components) and
:mod:`.conventions` (what a pretrained source implies); ``scripts/mine_contracts.py`` lists
every contract mmdet states, of which these are the ones a config alone can check.

Only the config is read; nothing is imported, built or run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .config import is_mapping, node_type, walk_dicts
from .config import value_at as get


@dataclass(frozen=True)
class Breach:
    """One key that breaks a contract: ``key`` is relative to the component's dict, or an
    absolute key path when it starts with ``model.`` (a neighbour's key)."""

    key: str
    have: Any
    want: str
    why: str = ""


@dataclass(frozen=True)
class Contract:
    name: str
    types: tuple[str, ...]   # component types it applies to; empty: the predicate decides
    keys: tuple[str, ...]    # the keys it reads
    source: str              # mmdet/…py:LINE where mmdet states or relies on it
    quote: str               # a piece of that line (a test checks it is there)
    says: str                # the contract, in words
    bites: str               # silent | loss | predict | test | train: when breaking it shows
    check: Callable[["Site"], Iterable[Breach]] = field(repr=False, compare=False)
    slots: tuple[str, ...] = ()  # the key names the component may sit under (empty: any)


@dataclass
class Site:
    """A component dict of the model config, where it sits, and what is around it."""

    path: str            # its key path, e.g. model.roi_head.bbox_head.0
    node: Any            # its dict
    model: Any           # the model dict
    cfg: Any = None      # the whole config (may be None in tests)

    def get(self, rel: str, default=None):
        return get(self.node, rel, default)

    def at(self, path: str, default=None):
        """A value by absolute key path (``model.neck.out_channels``)."""
        if not path.startswith("model."):
            return get(self.cfg, path, default) if self.cfg is not None else default
        return get(self.model, path[len("model."):], default)

    @property
    def slot(self) -> str:
        parts = [p for p in self.path.split(".") if not p.isdigit()]
        return parts[-1] if parts else ""

    @property
    def parent_path(self) -> str:
        parts = self.path.split(".")
        while parts and parts[-1].isdigit():
            parts.pop()
        return ".".join(parts[:-1])

    def parent(self):
        return self.at(self.parent_path) if self.parent_path.startswith("model") else None




# --------------------------------------------------------------------------- neighbours
def necks(model) -> list[tuple[str, Any]]:
    """(key path, dict) of the model's neck, or of each neck when it is a list."""
    neck = model.get("neck", None) if is_mapping(model) else None
    if is_mapping(neck):
        return [("model.neck", neck)]
    if isinstance(neck, (list, tuple)):
        return [(f"model.neck.{i}", n) for i, n in enumerate(neck) if is_mapping(n)]
    return []


# necks whose number of outputs is the length of their out_channels
LEVELS_FROM_OUT = ("SSDNeck", "YOLOV3Neck")


def neck_levels(model) -> tuple[str, int] | None:
    """(key, number of feature levels the neck outputs) when the config says it."""
    for path, n in necks(model):
        t = node_type(n)
        if isinstance(n.get("num_outs", None), int):
            return f"{path}.num_outs", n["num_outs"]
        if t in LEVELS_FROM_OUT and isinstance(n.get("out_channels", None), (list, tuple)):
            return f"{path}.out_channels", len(n["out_channels"])
        if t in ("YOLOXPAFPN", "CSPNeXtPAFPN") and isinstance(n.get("in_channels", None), (list, tuple)):
            return f"{path}.in_channels", len(n["in_channels"])
        if t == "ChannelMapper" and isinstance(n.get("in_channels", None), (list, tuple)):
            extra = n.get("num_outs", None)
            return f"{path}.in_channels", extra if isinstance(extra, int) else len(n["in_channels"])
    return None


def neck_out_channels(model) -> tuple[str, Any] | None:
    """(key, out_channels) of the last neck that sets them."""
    found = None
    for path, n in necks(model):
        if "out_channels" in n:
            found = (f"{path}.out_channels", n["out_channels"])
        elif node_type(n) in ("BFP", "DyHead") and found is None and "in_channels" in n:
            found = (f"{path}.in_channels", n["in_channels"])
    return found


def as_list(value) -> list | None:
    return list(value) if isinstance(value, (list, tuple)) else None


def sites(model, cfg=None, root: str = "model") -> Iterator[Site]:
    for path, node in walk_dicts(model, root):
        if node_type(node):
            yield Site(path, node, model, cfg)


def applies(contract: Contract, site: Site) -> bool:
    if contract.types and node_type(site.node) not in contract.types:
        return False
    return not contract.slots or site.slot in contract.slots


def breaches(contracts: Iterable[Contract], model, cfg=None) -> Iterator[tuple[Contract, Site, Breach]]:
    """Every breach of every contract over the model config's components."""
    if not is_mapping(model):
        return
    contracts = list(contracts)
    for site in sites(model, cfg):
        for contract in contracts:
            if applies(contract, site):
                try:
                    found = list(contract.check(site) or ())
                except (TypeError, ValueError, KeyError, AttributeError, IndexError, ZeroDivisionError):
                    continue  # a value of another shape than the contract reads: not this contract's case
                for breach in found:
                    yield contract, site, breach


def key_of(site: Site, breach: Breach) -> str:
    return breach.key if breach.key.startswith("model.") else f"{site.path}.{breach.key}"

"""Rule discovery through the ``detaudit.rules`` entry-point group.

The built-in pack is found exactly like a third-party one, so a pack that works here
works everywhere. Loading a pack imports only that pack (rule modules keep heavy
imports inside their functions).
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .rule import Rule

GROUP = "detaudit.rules"


class RulePackError(Exception):
    pass


@lru_cache(maxsize=1)
def rule_packs() -> tuple[tuple[str, str, tuple[Rule, ...]], ...]:
    """(package, version, rules) for each registered pack, sorted by package name."""
    packs = []
    for ep in entry_points(group=GROUP):
        try:
            obj = _load_pack(ep)
        except Exception as exc:  # a broken third-party pack must not hide the others
            raise RulePackError(f"rule pack {ep.name!r} ({ep.value}) failed to import: "
                                f"{type(exc).__name__}: {exc}") from exc
        rules = tuple(obj)
        if not all(isinstance(r, Rule) for r in rules):
            raise RulePackError(f"rule pack {ep.value} must be an iterable of detaudit.rule.Rule")
        package = ep.value.split(":")[0].split(".")[0]
        version = ep.dist.version if ep.dist is not None else "0"
        for r in rules:
            r.origin = package
        packs.append((package, version, rules))
    return tuple(sorted(packs, key=lambda p: p[0]))


def _load_pack(ep):
    """Load a pack's object. A pack module inside a top-level package that is not imported
    yet (``detector.audit_rules``: the detector's ``__init__`` imports torch and mmdet to
    register its models) is first executed from its own file, without the package's
    ``__init__``, so that listing rules stays light. A pack that needs its package (relative
    imports) fails that way and is then loaded normally."""
    import importlib.util
    import os
    import sys

    module_name, _, attr = ep.value.partition(":")
    parent, _, leaf = module_name.rpartition(".")
    if parent and "." not in parent and parent not in sys.modules and module_name not in sys.modules:
        try:
            spec = importlib.util.find_spec(parent)  # locates a top-level package without importing it
            folders = list(spec.submodule_search_locations or []) if spec else []
            path = next((f"{f}/{leaf}.py" for f in folders if os.path.isfile(f"{f}/{leaf}.py")), None)
            if path is not None:
                sub_spec = importlib.util.spec_from_file_location(module_name, path)
                module = importlib.util.module_from_spec(sub_spec)
                sys.modules[module_name] = module
                try:
                    sub_spec.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(module_name, None)
                    raise
                obj = module
                for part in attr.split(".") if attr else ():
                    obj = getattr(obj, part)
                return obj
        except Exception:  # noqa: BLE001 - fall back to the ordinary import below
            pass
    return ep.load()


# Loads any entry point the same light way (dataset writers of the detaudit.datasets group too).
load_entry_point = _load_pack


@lru_cache(maxsize=1)
def all_rules() -> dict[str, Rule]:
    """Every registered rule by code, in code order. Duplicate codes are an error."""
    by_code: dict[str, Rule] = {}
    for package, _, rules in rule_packs():
        for r in rules:
            if r.code in by_code:
                raise RulePackError(f"rule code {r.code} is registered by both "
                                    f"{by_code[r.code].origin} and {package}")
            by_code[r.code] = r
    return dict(sorted(by_code.items()))


def find_rule(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    for r in all_rules().values():
        if r.code == key.upper() or r.name == key.lower():
            return r
    return None


def select_rules(select=None, ignore=None, extend_select=None) -> list[Rule]:
    """Codes or prefixes, ruff style: ``ALL``, ``DA1``, ``DA101``. The most specific
    matching selector wins between select and ignore."""
    rules = all_rules()
    select = list(select) if select else ["ALL"]
    select += list(extend_select or [])
    ignore = list(ignore or [])

    def best(code: str, selectors: list[str]) -> int:
        lengths = [len(s) if s != "ALL" else 0 for s in selectors
                   if s == "ALL" or code.startswith(s.upper())]
        return max(lengths) if lengths else -1

    chosen = []
    for code, r in rules.items():
        s, i = best(code, select), best(code, ignore)
        if s >= 0 and s > i:
            chosen.append(r)
    return chosen


def unknown_selectors(selectors) -> list[str]:
    codes = all_rules().keys()
    return [s for s in selectors or [] if s != "ALL" and not any(c.startswith(s.upper()) for c in codes)]

"""Each audit sees the registries and modules a fresh ``python tools/train.py`` would.

Auditing runs the config's code in this process: ``custom_imports`` and the modules a config
imports register classes in mmengine's registries (mmdet's are children of mmengine's) and stay
in ``sys.modules``. Left there, they change the next audit: a module imported again is not
executed again (its classes are no longer registered once the registries are restored), a
second package registering the same name fails with "already registered", and one registering
with ``force=True`` silently replaces another package's class.

:func:`fresh_imports` snapshots, around one audit, every registry's classes and children (and
mmengine's default scopes), ``sys.modules`` and ``sys.path``. Afterwards the modules the audit
imported from the audited project are dropped from ``sys.modules`` and every registry gets back
its classes and children from before, except what the environment (the standard library and
installed packages, imported for the first time by this audit) registered: those modules stay
imported, so their registrations stay too. In worker processes the supervisor also replaces a
worker after a config that imported project code (``Isolation.dropped``), which undoes anything
else such code may have patched.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

_active: list["Isolation"] = []
_finished: list["Isolation"] = []  # the last audit's, for the worker that ran it


@dataclass
class Isolation:
    """One audit's import state: what was imported before it, what it dropped afterwards."""

    before: frozenset = frozenset()
    dropped: list[str] = field(default_factory=list)

    def imported_during(self, name: str) -> bool:
        return name in sys.modules and name not in self.before


def current() -> Isolation | None:
    """The isolation of the audit running now, if any."""
    return _active[-1] if _active else None


def last_finished() -> Isolation | None:
    """The isolation of the audit that ended last in this process, if any."""
    return _finished[-1] if _finished else None


@functools.lru_cache(maxsize=1)
def _environment() -> tuple[frozenset, tuple[Path, ...]]:
    """(top-level names, folders) of the environment: the standard library, installed
    distributions (an editable install or a source checkout of mmdet shadowing the installed
    one keeps its name), detaudit itself and its rule packs."""
    import importlib.metadata
    import site
    import sysconfig

    names = set(sys.builtin_module_names) | set(getattr(sys, "stdlib_module_names", ()))
    with contextlib.suppress(Exception):
        names |= set(importlib.metadata.packages_distributions())
    folders = {Path(__file__).resolve().parents[1]}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError, TypeError):
            folders.add(Path(sysconfig.get_paths()[key]).resolve())
    with contextlib.suppress(AttributeError):
        folders.update(Path(p).resolve() for p in site.getsitepackages())
    with contextlib.suppress(AttributeError, TypeError):
        folders.add(Path(site.getusersitepackages()).resolve())
    with contextlib.suppress(Exception):
        from ..registry import rule_packs

        for package, _, _ in rule_packs():
            names.add(package.split(".")[0])
    return frozenset(names), tuple(folders)


def is_environment(name: str, module) -> bool:
    """Whether a module belongs to the environment (kept across audits) rather than to the
    audited project (dropped after the audit that imported it)."""
    names, folders = _environment()
    if name.split(".")[0] in names:
        return True
    where = getattr(module, "__file__", None)
    if where is None:
        where = next(iter(getattr(module, "__path__", None) or ()), None)
    if not isinstance(where, str):
        return False
    try:
        path = Path(where).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(path == f or f in path.parents for f in folders)


# ---------------------------------------------------------------------------- registries
_registries_in: dict[int, tuple] = {}  # id(module) -> (weak reference to it, the registries among its globals)


def _registry_class():
    """mmengine's Registry, if mmengine was imported (never imported here: no mmengine, no registries)."""
    module = sys.modules.get("mmengine.registry.registry")
    return getattr(module, "Registry", None)


def registries_in(module, registry_cls) -> list:
    """The registries among a module's globals (remembered: modules are scanned once)."""
    cached = _registries_in.get(id(module))
    if cached is not None and cached[0]() is module:
        return cached[1]
    try:
        values = list(vars(module).values())
    except TypeError:
        values = []
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some module attributes warn when touched (deprecated aliases)
        for value in values:
            with contextlib.suppress(Exception):
                if isinstance(value, registry_cls):
                    found.append(value)
    with contextlib.suppress(TypeError):
        _registries_in[id(module)] = (weakref.ref(module), found)
    return found


def all_registries() -> list:
    """Every registry reachable from a module's globals, with all their descendants."""
    registry_cls = _registry_class()
    if registry_cls is None:
        return []
    found: dict[int, object] = {}
    for module in list(sys.modules.values()):
        for reg in registries_in(module, registry_cls):
            found.setdefault(id(reg), reg)
    stack = list(found.values())
    while stack:
        reg = stack.pop()
        for child in list(getattr(reg, "_children", {}).values()):
            if id(child) not in found:
                found[id(child)] = child
                stack.append(child)
    return list(found.values())


@dataclass
class _RegistryState:
    registry: object
    classes: dict
    children: dict
    imported: bool


def _snapshot_registries() -> list[_RegistryState]:
    return [_RegistryState(r, dict(r._module_dict), dict(r._children), getattr(r, "_imported", False))
            for r in all_registries()]


def _restore_registries(saved: list[_RegistryState], kept_new_modules: set[str], dropped: set[str]) -> None:
    """Each registry as it was, plus what environment modules first imported by the audit
    registered (they stay imported). Children added by dropped modules go with them."""
    dropped_tops = {name.split(".")[0] for name in dropped}
    registry_cls = _registry_class()
    registries_of_dropped = set() if registry_cls is None else {
        id(r) for name in dropped if name in sys.modules for r in registries_in(sys.modules[name], registry_cls)}

    def keep(obj) -> bool:
        return getattr(obj, "__module__", None) in kept_new_modules

    def keep_child(child) -> bool:
        return id(child) not in registries_of_dropped and str(getattr(child, "scope", "")).split(".")[0] \
            not in dropped_tops

    seen = set()
    for state in saved:
        reg = state.registry
        seen.add(id(reg))
        classes = dict(state.classes)
        for name, obj in reg._module_dict.items():
            if name not in state.classes and keep(obj):
                classes[name] = obj
        reg._module_dict.clear()
        reg._module_dict.update(classes)
        children = dict(state.children)
        for scope, child in reg._children.items():
            if scope not in children and keep_child(child):
                children[scope] = child
        reg._children.clear()
        reg._children.update(children)
        reg._imported = state.imported
    # registries the environment created during the audit (kept children): only its own classes
    for reg in all_registries():
        if id(reg) not in seen:
            for name in [n for n, obj in reg._module_dict.items() if getattr(obj, "__module__", None) in dropped]:
                del reg._module_dict[name]


def _default_scopes():
    module = sys.modules.get("mmengine.registry.default_scope")
    scope_cls = getattr(module, "DefaultScope", None)
    return getattr(scope_cls, "_instance_dict", None)


# ---------------------------------------------------------------------------- the context
@contextlib.contextmanager
def fresh_imports():
    """Around one audit: afterwards, ``sys.modules``, ``sys.path``, every registry and
    mmengine's default scopes are as before, but for what the environment added."""
    before = dict(sys.modules)
    path = list(sys.path)
    registries = _snapshot_registries()
    scopes = _default_scopes()
    scopes_before = dict(scopes) if scopes is not None else None
    state = Isolation(before=frozenset(before))
    _active.append(state)
    try:
        yield state
    finally:
        _active.remove(state)
        new = {name: m for name, m in list(sys.modules.items()) if before.get(name) is not m}
        dropped = {name for name, m in new.items() if not is_environment(name, m)}
        kept_new = set(new) - dropped
        # registries first: which registry a dropped module holds is read off sys.modules
        _restore_registries(registries, kept_new, dropped)
        for name in dropped:
            sys.modules.pop(name, None)
            _registries_in.pop(id(new[name]), None)
        for name, module in before.items():  # project modules an audit replaced or removed
            if sys.modules.get(name) is not module and not is_environment(name, module):
                sys.modules[name] = module
        for name in [n for n in before if n not in sys.modules]:
            sys.modules[name] = before[name]
        sys.path[:] = path
        if scopes is not None and scopes_before is not None:
            scopes.clear()
            scopes.update(scopes_before)
        with contextlib.suppress(Exception):
            import importlib

            importlib.invalidate_caches()
        state.dropped = sorted(dropped)
        _finished[:] = [state]


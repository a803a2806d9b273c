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

from ..errors import environment, is_environment_code

_finished: list["Isolation"] = []  # the last audit's, for the worker that ran it


@dataclass
class Isolation:
    """One audit's import state: what was imported before it, what it dropped afterwards."""

    before: frozenset = frozenset()
    dropped: list[str] = field(default_factory=list)


def last_finished() -> Isolation | None:
    """The isolation of the audit that ended last in this process, if any."""
    return _finished[-1] if _finished else None


@functools.lru_cache(maxsize=1)
def _rule_pack_names() -> frozenset:
    """Rule packs are detaudit's, wherever they live."""
    names = set()
    with contextlib.suppress(Exception):
        from ..registry import rule_packs

        names = {package.split(".")[0] for package, _, _ in rule_packs()}
    return frozenset(names)


def is_environment(name: str, module) -> bool:
    """Whether a module belongs to the environment (kept across audits: the standard library,
    installed packages, detaudit and its rule packs) rather than to the audited project
    (dropped after the audit that imported it)."""
    if name.split(".")[0] in _rule_pack_names():
        return True
    where = getattr(module, "__file__", None)
    if where is None:
        where = next(iter(getattr(module, "__path__", None) or ()), None)
        if where is None:  # made in memory (Cython's shared module, __mp_main__): nobody's project code
            return True
    return is_environment_code(name, where if isinstance(where, str) else None)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some module attributes warn when touched (deprecated aliases)
        try:  # one pass; a value whose __class__ raises sends the module through the careful loop
            found = [value for value in values if isinstance(value, registry_cls)]
        except Exception:  # noqa: BLE001
            found = []
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


@contextlib.contextmanager
def _registrations_recorded(registered_by: dict):
    """Record which module registers each name during the audit: ``(id(registry), name) -> module``.
    A project may register an installed package's class (an alias): the class's own module
    does not say whose registration it is."""
    registry_cls = _registry_class()
    original = getattr(registry_cls, "_register_module", None)
    if original is None:
        yield
        return

    def recording(self, module, module_name=None, force=False):
        original(self, module, module_name, force)
        names = [module_name] if isinstance(module_name, str) else list(module_name or [module.__name__])
        caller = _registering_module()
        for name in names:
            registered_by[(id(self), name)] = caller

    registry_cls._register_module = recording
    try:
        yield
    finally:
        registry_cls._register_module = original


def _registering_module() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith("mmengine.registry") and name != __name__:
            return name
        frame = frame.f_back
    return None


def _restore_registries(saved: list[_RegistryState], dropped: set[str], registered_by: dict) -> None:
    """Each registry as it was, plus what the environment's modules registered (they stay
    imported): a registration goes when the registering module or the registered class's
    module goes. Children added by dropped modules go with them."""
    staying = set(sys.modules) - dropped
    dropped_tops = {name.split(".")[0] for name in dropped}
    registry_cls = _registry_class()
    held = {}  # id(registry) -> whether a staying module holds it (imports count: mmdet's MODELS is everybody's)
    if registry_cls is not None:
        for name, module in list(sys.modules.items()):
            for r in registries_in(module, registry_cls):
                held[id(r)] = held.get(id(r), False) or name not in dropped

    def goes(reg, name, obj) -> bool:
        caller = registered_by.get((id(reg), name))
        owner = getattr(obj, "__module__", None)
        return (caller is not None and caller not in staying) or (isinstance(owner, str) and owner not in staying)

    def keep_child(child) -> bool:
        if id(child) in held:
            return held[id(child)]
        return str(getattr(child, "scope", "")).split(".")[0] not in dropped_tops

    def restored(reg, before: dict) -> dict:
        classes = {}
        for name, obj in reg._module_dict.items():
            if not goes(reg, name, obj):
                classes[name] = obj
            elif name in before:
                classes[name] = before[name]  # what a force=True registration replaced
        for name, obj in before.items():
            classes.setdefault(name, obj)
        return classes

    seen = set()
    for state in saved:
        reg = state.registry
        seen.add(id(reg))
        classes = restored(reg, state.classes)
        reg._module_dict.clear()
        reg._module_dict.update(classes)
        children = dict(state.children)
        for scope, child in reg._children.items():
            if scope not in children and keep_child(child):
                children[scope] = child
        reg._children.clear()
        reg._children.update(children)
        reg._imported = state.imported
    for reg in all_registries():  # registries the environment created during the audit
        if id(reg) not in seen:
            classes = restored(reg, {})
            reg._module_dict.clear()
            reg._module_dict.update(classes)


def _default_scopes():
    module = sys.modules.get("mmengine.registry.default_scope")
    scope_cls = getattr(module, "DefaultScope", None)
    return getattr(scope_cls, "_instance_dict", None)


def warm_caches() -> None:
    """Read once what is installed and which loaded modules hold registries (~0.5 s): the
    fork server does it, so that every worker forked from it starts with the answers."""
    environment()
    _rule_pack_names()
    all_registries()


# ---------------------------------------------------------------------------- the context
@contextlib.contextmanager
def fresh_imports():
    """Around one audit: afterwards, ``sys.modules``, ``sys.path``, every registry and
    mmengine's default scopes are as before, but for what the environment added."""
    with contextlib.suppress(ImportError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what importing torch's and mmengine's modules warns is not the report's
        # loading any config imports it anyway; imported now, registrations are recorded from the start
        import mmengine.registry  # noqa: F401
    before = dict(sys.modules)
    path = list(sys.path)
    registries = _snapshot_registries()
    registered_by: dict = {}
    scopes = _default_scopes()
    scopes_before = dict(scopes) if scopes is not None else None
    state = Isolation(before=frozenset(before))
    try:
        with _registrations_recorded(registered_by):
            yield state
    finally:
        new = {name: m for name, m in list(sys.modules.items()) if before.get(name) is not m}
        dropped = {name for name, m in new.items() if not is_environment(name, m)}
        # registries first: which registry a dropped module holds is read off sys.modules
        _restore_registries(registries, dropped, registered_by)
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


"""Which keys a config dict's ``type`` accepts, read from the constructor where the type resolves.

A config dict becomes ``Registry.build(cfg)``: the type is looked up in the registry of the
place the dict sits (``model`` in MODELS, ``optim_wrapper.optimizer`` in OPTIMIZERS, a
pipeline step in TRANSFORMS...) and every other key is passed to its constructor as a keyword.
The keywords a constructor takes are its named parameters; a ``**kwargs`` that the
constructor passes on adds what it passes them to:

* ``super().__init__(..., **kwargs)``: what the next class of the MRO accepts (``ResNeXt`` takes
  ``ResNet``'s keys, ``CocoDataset`` takes ``BaseDataset``'s);
* ``dict(type=<parameter>, **kwargs)``: an inner object the constructor builds later (mmengine's
  ``EMAHook`` builds its ``ema_type`` from the rest): what that inner type accepts, without its
  first parameter (the object it wraps);
* anything else: the keywords cannot be known, and every key is taken as accepted.

Resolving a type imports mmdet's registries and the modules they register: this runs
library code, so the fact does not exist under ``--no-exec``.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import Any

# Keys the registry consumes itself, never passed to a constructor.
REGISTRY_KEYS = frozenset({"type", "_scope_", "_delete_"})
# Keys the code that builds from a registry takes out before the constructor sees the rest:
# mmengine's build_optim_wrapper (the constructor and its paramwise_cfg), Runner.register_hook
# (a hook's priority), the scheduler builder (convert_to_iter_based).
BUILDER_KEYS = {
    "OPTIM_WRAPPERS": frozenset({"constructor", "paramwise_cfg"}),
    "HOOKS": frozenset({"priority"}),
    "PARAM_SCHEDULERS": frozenset({"convert_to_iter_based"}),
    "VISBACKENDS": frozenset({"name"}),  # the Visualizer pops a backend's name before building it
}

_TASK_UTILS_WORDS = ("coder", "assigner", "sampler", "generator", "calculator", "_cost", "cost")


def registries_for(key_path: str) -> tuple[str, ...]:
    """The registries (mmdet.registry names) a dict at ``key_path`` is built from, most likely first."""
    parts = [p for p in key_path.split(".") if not p.isdigit()]
    top, leaf = parts[0], parts[-1]
    if any("pipeline" in p or p == "transforms" for p in parts[1:]) or top.endswith("pipeline"):
        return ("TRANSFORMS",)
    if top == "model" or top.endswith("_model"):
        if leaf == "init_cfg":
            return ("WEIGHT_INITIALIZERS",)
        if leaf == "sampler" and len(parts) > 2:
            return ("TASK_UTILS", "MODELS")
        if any(w in leaf for w in _TASK_UTILS_WORDS):
            return ("TASK_UTILS", "MODELS")
        return ("MODELS", "TASK_UTILS")
    if top.endswith("_dataloader"):
        if leaf in ("sampler", "batch_sampler"):
            return ("DATA_SAMPLERS",)
        return ("DATASETS",)
    if top.endswith("_evaluator"):
        return ("METRICS", "EVALUATOR")
    if top == "optim_wrapper":
        if leaf == "optimizer":
            return ("OPTIMIZERS",)
        return ("OPTIM_WRAPPERS",) if len(parts) == 1 else ("OPTIM_WRAPPER_CONSTRUCTORS", "MODELS")
    if top == "param_scheduler":
        return ("PARAM_SCHEDULERS",)
    if top in ("default_hooks", "custom_hooks"):
        return ("HOOKS",) if len(parts) <= 2 else ("MODELS", "TASK_UTILS")
    if top == "visualizer":
        return ("VISBACKENDS",) if "vis_backends" in parts else ("VISUALIZERS",)
    if top in ("train_cfg", "val_cfg", "test_cfg") and len(parts) == 1:
        return ("LOOPS",)
    if top == "log_processor":
        return ("LOG_PROCESSORS",)
    return ()


@dataclass
class Signature:
    """What the constructor of one type accepts."""

    type_name: str
    qualname: str                       # module.Class (or function) the type resolved to
    registry: str                       # where it resolved
    params: frozenset | None            # keyword names accepted; None: any keyword (an open **kwargs)
    chain: list[str] = field(default_factory=list)  # constructors whose parameters count, in order
    note: str = ""                      # how **kwargs were followed, for messages
    defaults: dict[str, Any] = field(default_factory=dict)  # parameter -> its default, where it has one
    attrs: dict[str, Any] = field(default_factory=dict)  # class attributes rules read (METAINFO, default_prefix)

    def accepts(self, key: str) -> bool | None:
        """Whether a config key can be passed; None when the constructor takes any keyword."""
        if key in REGISTRY_KEYS or key in BUILDER_KEYS.get(self.registry, ()):
            return True
        return None if self.params is None else key in self.params

    def is_default(self, key: str, value: Any) -> bool:
        """Whether ``value`` is what the constructor uses anyway when ``key`` is not given."""
        if key not in self.defaults:
            return False
        try:
            return _plain(self.defaults[key]) == _plain(value)
        except Exception:  # noqa: BLE001 - an odd default that does not compare
            return False

    def shown(self, limit: int = 8) -> str:
        if self.params is None:
            return f"{self.type_name}(**kwargs)"
        names = sorted(self.params)
        more = f", ... {len(names) - limit} more" if len(names) > limit else ""
        return f"{self.type_name}({', '.join(names[:limit])}{more})"


class Constructors:
    """Signatures by type name, resolved once each (the ``constructors`` fact)."""

    def __init__(self, default_scope: str | None = "mmdet"):
        self.default_scope = default_scope or "mmdet"
        self._registries: dict[str, Any] = {}
        self._memo: dict[tuple, Signature | None] = {}
        self._ready = False

    def _setup(self) -> None:
        if self._ready:
            return
        self._ready = True
        import contextlib

        from mmengine.registry import init_default_scope

        from .sandbox import no_network, quiet

        with quiet(), no_network():
            with contextlib.suppress(ImportError):
                from mmdet.utils import register_all_modules

                register_all_modules(init_default_scope=False)
            with contextlib.suppress(Exception):
                init_default_scope(self.default_scope)
        try:
            import mmdet.registry as regs
        except ImportError:
            import mmengine.registry as regs
        self._registries = {name: getattr(regs, name) for name in dir(regs) if name.isupper()
                            and not name.startswith("MMENGINE_")}

    def resolve(self, type_value: Any, key_path: str) -> tuple[Any, str] | None:
        """(the class or function, registry name) a ``type`` resolves to at ``key_path``, or None."""
        if type_value is None:
            return None
        if not isinstance(type_value, str):
            return (type_value, "class") if callable(type_value) else None
        from .sandbox import no_network, quiet

        self._setup()
        order = registries_for(key_path)
        for name in order + tuple(n for n in self._registries if n not in order):
            registry = self._registries.get(name)
            if registry is None:
                continue
            try:
                with quiet(), no_network():
                    obj = registry.get(type_value)
            except Exception:  # noqa: BLE001 - a registry that cannot resolve the name
                obj = None
            if obj is not None:
                return obj, name
        return None

    def similar(self, type_value: str, key_path: str, limit: int = 3) -> list[str]:
        """Registered names close to ``type_value``: the same name in another case first, then the
        closest spellings, from the registries a dict at ``key_path`` is built from (all when none)."""
        import difflib

        self._setup()
        order = registries_for(key_path) or tuple(self._registries)
        names: set[str] = set()
        for name in order:
            registry = self._registries.get(name)
            while registry is not None:  # a child registry, then the root one it falls back to
                names.update(k for k in getattr(registry, "module_dict", {}) if isinstance(k, str))
                registry = getattr(registry, "parent", None)
        same_case = sorted(n for n in names if n.lower() == type_value.lower() and n != type_value)
        close = difflib.get_close_matches(type_value, sorted(names), n=limit, cutoff=0.8)
        return list(dict.fromkeys(same_case + close))[:limit]

    def only_in_scope(self, type_value: Any, key_path: str) -> str | None:
        """The scope (``mmdet``) of a type that mmengine's own registries do not hold: what a Runner
        without ``default_scope`` cannot build. None when mmengine builds it as well, or when it is
        not a registered name at all."""
        if not isinstance(type_value, str) or "." in type_value:
            return None
        self._setup()
        for name in registries_for(key_path):
            registry = self._registries.get(name)
            if registry is None or type_value not in getattr(registry, "module_dict", {}):
                continue
            root = registry
            while getattr(root, "parent", None) is not None:
                root = root.parent
            if root is not registry and type_value not in getattr(root, "module_dict", {}):
                return getattr(registry, "scope", None)
        return None

    def signature(self, type_value: Any, key_path: str, node: Any = None) -> Signature | None:
        """The signature of the type a config dict at ``key_path`` builds, or None when the type
        does not resolve. ``node`` (the dict itself) names an inner type a constructor builds."""
        resolved = self.resolve(type_value, key_path)
        if resolved is None:
            return None
        obj, registry = resolved
        inner_key = _inner_type_param(obj)
        inner = node.get(inner_key) if inner_key and hasattr(node, "get") else None
        memo_key = (id(obj), registry, str(inner))
        if memo_key not in self._memo:
            self._memo[memo_key] = self._signature(obj, registry, type_value, inner)
        return self._memo[memo_key]

    def _signature(self, obj, registry: str, type_value, inner) -> Signature:
        chain: list[str] = []
        notes: list[str] = []
        defaults: dict[str, Any] = {}
        params = self._accepted(obj, chain, notes, inner, 0, defaults=defaults)
        name = type_value.split(".")[-1] if isinstance(type_value, str) else getattr(obj, "__name__", str(obj))
        attrs = {}
        meta = getattr(obj, "METAINFO", None) if inspect.isclass(obj) else None
        if isinstance(meta, dict):
            attrs["METAINFO"] = meta
        prefix = getattr(obj, "default_prefix", None) if inspect.isclass(obj) else None
        if isinstance(prefix, str):  # a metric's results are named '<prefix>/<name>'
            attrs["default_prefix"] = prefix
        return Signature(name, f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', name)}", registry,
                         None if params is None else frozenset(params), chain, "; ".join(notes), defaults, attrs)

    def _accepted(self, obj, chain: list, notes: list, inner, depth: int, start: int = 0,
                  defaults: dict | None = None) -> set | None:
        """The keywords ``obj`` accepts; for a class, from the first constructor at or after
        position ``start`` of its MRO (where a ``super().__init__(**kwargs)`` lands)."""
        if depth > 16:
            return None
        if inspect.isclass(obj):
            mro = obj.__mro__
            owner = next((k for k in mro[start:] if "__init__" in vars(k)), object)
            if owner is object or _is_torch_module(owner):
                return set()  # object and nn.Module take no keyword arguments
            init = vars(owner)["__init__"]
        else:
            mro, owner, init = (), None, obj
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            return None
        chain.append(getattr(owner or obj, "__name__", "?"))
        names = {p.name for p in sig.parameters.values()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self", "cls"}
        if defaults is not None:
            for p in sig.parameters.values():
                if p.name in names and p.default is not p.empty:
                    defaults.setdefault(p.name, p.default)
        var_kw = next((p.name for p in sig.parameters.values() if p.kind == p.VAR_KEYWORD), None)
        if var_kw is None:
            return names
        target = _kwargs_target(init, var_kw)
        if target == "super" and owner is not None:
            more = self._accepted(obj, chain, notes, None, depth + 1, mro.index(owner) + 1, defaults)
            return None if more is None else names | more
        if isinstance(target, tuple) and depth == 0:  # ("inner", the parameter naming the inner type)
            param = target[1]
            inner_type = inner if inner is not None else _default(sig, param)
            resolved = self.resolve(inner_type, "model") if inner_type is not None else None
            if resolved is None:
                return None
            inner_params = self._accepted(resolved[0], [], [], None, depth + 1)
            if inner_params is None:
                return None
            notes.append(f"{chain[0]} passes its other keys to the {_short(inner_type)} it builds ({param}=)")
            return names | (inner_params - {_first_param(resolved[0])})
        return None


def _plain(value: Any, depth: int = 0) -> Any:
    """A value compared as config text would write it: tuples as lists, booleans apart from numbers."""
    if depth > 16:
        return value
    if isinstance(value, (list, tuple)):
        return ["list"] + [_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, bool):
        return ("bool", value)
    return value


def _is_torch_module(cls) -> bool:
    return cls.__module__ == "torch.nn.modules.module" and cls.__name__ == "Module"


def _short(t) -> str:
    return t.split(".")[-1] if isinstance(t, str) else getattr(t, "__name__", str(t))


def _default(sig: inspect.Signature, name: str):
    p = sig.parameters.get(name)
    return None if p is None or p.default is p.empty else p.default


def _first_param(obj) -> str | None:
    try:
        target = vars(next(k for k in obj.__mro__ if "__init__" in vars(k)))["__init__"] \
            if inspect.isclass(obj) else obj
        params = [p for p in inspect.signature(target).parameters.values() if p.name not in ("self", "cls")]
    except (TypeError, ValueError, StopIteration):
        return None
    return params[0].name if params else None


def _init_tree(fn) -> ast.AST | None:
    from .source_text import source_of

    try:
        return ast.parse(textwrap.dedent(source_of(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def _kwargs_target(fn, var_kw: str):
    """Where a constructor passes its ``**var_kw``: "super" (to the next class's constructor),
    ("inner", param) (into ``dict(type=param, **var_kw)``), or None (elsewhere, or unknown)."""
    tree = _init_tree(fn)
    if tree is None:
        return None
    inner = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        passes = any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == var_kw for k in node.keywords)
        if not passes:
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "__init__":
            return "super"  # super().__init__(**kw), super(C, self).__init__(**kw), Base.__init__(self, **kw)
        if isinstance(func, ast.Name) and func.id == "dict":
            for k in node.keywords:
                if k.arg == "type" and isinstance(k.value, ast.Name):
                    inner = ("inner", k.value.id)
    return inner


def _inner_type_param(obj) -> str | None:
    """The parameter naming the inner type a constructor builds from its ``**kwargs``, if any."""
    if not inspect.isclass(obj):
        return None
    owner = next((k for k in obj.__mro__ if "__init__" in vars(k)), object)
    if owner is object:
        return None
    init = vars(owner)["__init__"]
    try:
        sig = inspect.signature(init)
    except (TypeError, ValueError):
        return None
    var_kw = next((p.name for p in sig.parameters.values() if p.kind == p.VAR_KEYWORD), None)
    if var_kw is None:
        return None
    target = _kwargs_target(init, var_kw)
    return target[1] if isinstance(target, tuple) else None

"""mmengine's config semantics, written once: which files a config inherits from, and how
their values merge.

Three readers need them: the executed loader (which lets mmengine do the merging but checks
the ``_base_`` chain for cycles first), the source map (which follows every key to the file
and line that set it) and the ``--no-exec`` reader (which evaluates configs as data). They
hold values differently (the source map keeps a location with every value), so the merge
functions here take a :class:`ValueModel` that says how to look into one reader's values;
the rules themselves (``_delete_``, recursive dict merges, what a type clash raises, how
``scope::`` paths and ``read_base()`` imports resolve, what makes a config pure-Python) exist
only here. Each function names the mmengine 0.10 behaviour it follows.
"""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from .paths import package_root

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
MAX_BASE_DEPTH = 64

# The ``scope::`` prefixes mmengine accepts in a base path, and the package each one names
# (mmengine.config.utils.MODULE2PACKAGE); any other scope is an error in mmengine too.
CONFIG_SCOPES = ("mmcls", "mmdet", "mmdet3d", "mmseg", "mmaction", "mmtrack", "mmpose", "mmedit", "mmocr",
                 "mmgen", "mmfewshot", "mmrazor", "mmflow", "mmhuman3d", "mmrotate", "mmselfsup", "mmyolo",
                 "mmpretrain", "mmagic")


class CircularBaseError(Exception):
    """A config inherits from itself through its bases."""


class BaseError(Exception):
    """A base cannot be named or found; ``line`` is the statement that names it."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class PackageMissing(BaseError):
    """A base lives in a package that is not installed in this environment (``mmdet::...``
    without mmdet): a fact about the environment, not a mistake in the config."""

    def __init__(self, message: str, package: str, line: int | None = None):
        super().__init__(message, line)
        self.package = package


# --------------------------------------------------------------------------- which files
def base_statement(tree: ast.Module) -> ast.Assign | None:
    """The first top-level ``_base_ = ...`` (mmengine reads only that one)."""
    return next((n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
                 and n.targets[0].id == BASE_KEY), None)


def base_entries(tree: ast.Module) -> list[str]:
    """The strings of ``_base_``: one string or a list/tuple of strings, else BaseError."""
    node = base_statement(tree)
    if node is None:
        return []
    value = node.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                                       for e in value.elts):
        return [e.value for e in value.elts]
    raise BaseError("_base_ must be a string or a list of strings", node.lineno)


def resolve_base(entry: str, importer: Path) -> Path:
    """The file one ``_base_`` entry names. A plain path is relative to the importing file's
    folder; ``scope::path`` is ``<package>/.mim/configs/<path>`` of an installed OpenMMLab
    package whose scope mmengine knows (``Config._get_cfg_path``). The file may not exist;
    an unknown scope or a package that is not installed raises BaseError."""
    if "::" not in entry:
        return Path(os.path.abspath(importer.parent / entry))
    scope, _, rel = entry.partition("::")
    if "::" in rel:
        raise BaseError(f"'::' may appear only once in a base path: {entry!r}")
    if scope not in CONFIG_SCOPES:
        raise BaseError(f"mmengine does not load configs of scope '{scope}' ({entry!r})")
    root = package_root(scope)
    if root is None:
        raise PackageMissing(f"package '{scope}' is not installed, so '{entry}' cannot be found", scope)
    return Path(os.path.abspath(root / ".mim" / "configs" / rel))


def resolve_read_base_import(module: str | None, level: int, importer: Path) -> Path:
    """The file a ``from <module> import ...`` inside ``read_base()`` names: relative imports
    from the importing file's folder, absolute ones inside the installed package."""
    if not module:
        raise BaseError("read_base() imports need a module name")
    if level > 0:
        folder = importer.parent
        for _ in range(level - 1):
            folder = folder.parent
        return Path(os.path.abspath(folder / (module.replace(".", "/") + ".py")))
    parts = module.split(".")
    root = package_root(parts[0]) if len(parts) > 1 else None
    if root is None:
        if len(parts) > 1:
            raise PackageMissing(f"package '{parts[0]}' is not installed, so base config module '{module}' "
                                 "cannot be found", parts[0])
        raise BaseError(f"cannot locate base config module '{module}'")
    return root.joinpath(*parts[1:]).with_suffix(".py")


def is_read_base(node: ast.With) -> bool:
    """``with read_base():``, the only context manager mmengine allows in a config."""
    expr = node.items[0].context_expr if node.items else None
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "read_base"


def is_pure_python(tree: ast.Module) -> bool:
    """mmengine's ``Config._is_lazy_import``: a ``_base_`` assignment makes a text-style
    config; ``with read_base()``, a relative import or an import of a module outside the
    standard library makes a pure-Python one. Any other ``with`` is an error (BaseError),
    as it is for mmengine."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY:
            return False
        if isinstance(node, ast.With):
            if not is_read_base(node):
                raise BaseError("only the `read_base()` context manager can be used in a config", node.lineno)
            return True
        if isinstance(node, ast.ImportFrom):
            if node.level:
                return True
            if node.module == "mmengine" and [a.name for a in node.names] == ["Config"]:
                continue
            if isinstance(node.module, str) and not _is_stdlib(node.module):
                return True
        if isinstance(node, ast.Import) and any(not _is_stdlib(a.name) for a in node.names):
            return True
    return False


def _is_stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.builtin_module_names or top in getattr(sys, "stdlib_module_names", ())


def inherited_files(path: Path) -> list[Path]:
    """The files one config names as its bases (``_base_`` entries, or the modules imported
    inside ``read_base()``), resolved; entries that cannot be resolved are left out."""
    if path.suffix != ".py" or not path.is_file():
        return []
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
        return []
    out = []
    try:
        entries = base_entries(tree)
    except BaseError:
        entries = []
    for entry in entries:
        try:
            out.append(resolve_base(entry, path))
        except (BaseError, ValueError, OSError):
            continue
    for node in tree.body:
        if isinstance(node, ast.With) and is_read_base(node):
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom):
                    try:
                        out.append(resolve_read_base_import(inner.module, inner.level, path))
                    except (BaseError, ValueError, OSError):
                        continue
    return out


def base_cycle(path: str | os.PathLike, display: Callable[[Path], str] = str) -> str | None:
    """The chain of bases that loops back on itself, as 'a.py -> b.py -> a.py', or None.
    Reads only the statements that name bases (mmengine would recurse a thousand levels deep,
    writing a temporary file per level, before failing with RecursionError)."""
    done: set[Path] = set()

    def visit(p: Path, stack: tuple) -> str | None:
        if p in stack:
            chain = stack[stack.index(p):] + (p,)
            return " -> ".join(display(q) for q in chain)
        if p in done or len(stack) > MAX_BASE_DEPTH:
            return None
        for base in inherited_files(p):
            found = visit(base, stack + (p,))
            if found:
                return found
        done.add(p)
        return None

    return visit(Path(os.path.abspath(path)), ())


# --------------------------------------------------------------------------- how values merge
class ValueModel(Protocol):
    """How a reader's config values look. ``Entry`` is what a dict holds under a key (a plain
    value, or a value with its location); the merge functions below move entries around and
    ask the model only these questions."""

    def is_dict(self, entry: Any) -> bool: ...
    def items(self, d: Any) -> Iterable[tuple[str, Any]]: ...
    def get(self, d: Any, key: str) -> Any: ...       # the entry, or None when absent
    def put(self, d: Any, key: str, entry: Any) -> None: ...
    def copy(self, d: Any) -> Any: ...                  # a shallow copy of a dict value
    def clear(self, d: Any) -> None: ...
    def take_delete(self, entry: Any) -> tuple[Any, bool]: ...  # (entry without _delete_, its flag)
    def dict_of(self, entry: Any) -> Any: ...           # the dict value an entry holds
    def with_dict(self, entry: Any, d: Any) -> Any: ...  # the entry, holding d instead
    def type_name(self, entry: Any) -> str: ...
    # the entry, remembering that it took the place of ``old``: how = "merge" (a dict merged
    # into old's dict), "replace" (a value replaced old), "delete" (``_delete_=True`` threw old away)
    def record(self, entry: Any, old: Any, how: str) -> Any: ...


class MergeTypeError(TypeError):
    """A child dict over a base value that is not a dict, without ``_delete_=True``."""


def merge_into(child: Any, base: Any, model: ValueModel) -> Any:
    """``Config._merge_a_into_b``: the child's keys over a copy of the base; a dict merges
    into the base's dict of the same key unless it says ``_delete_=True`` (then it replaces
    it); a dict over a non-dict raises MergeTypeError. Like mmengine, ``_delete_`` is only
    consumed where the base has the key."""
    out = model.copy(base)
    for key, entry in model.items(child):
        old = model.get(out, key)
        how = "replace"  # a value that is not a dict replaces the base's, whatever it was
        if model.is_dict(entry) and old is not None:
            entry, delete = model.take_delete(entry)
            how = "delete" if delete else "merge"
            if not delete:
                if not model.is_dict(old):
                    raise MergeTypeError(
                        f"{key} is a dict in the child config but a {model.type_name(old)} in the base config; "
                        f"set {DELETE_KEY}=True to replace it")
                entry = model.with_dict(entry, merge_into(model.dict_of(entry), model.dict_of(old), model))
        if old is not None:
            entry = model.record(entry, old, how)
        model.put(out, key, entry)
    return out


def update_nested(target: Any, other: Any, model: ValueModel) -> None:
    """``ConfigDict.update`` (pure-Python configs): a dict updates the dict under the same
    key in place; anything else replaces."""
    for key, entry in model.items(other):
        old = model.get(target, key)
        if old is not None and model.is_dict(old) and model.is_dict(entry):
            update_nested(model.dict_of(old), model.dict_of(entry), model)
        else:
            model.put(target, key, entry if old is None else model.record(entry, old, "replace"))


def merge_nested(other: Any, target: Any, model: ValueModel) -> Any:
    """``ConfigDict.merge``: a recursive merge where ``_delete_=True`` clears the target's
    dict first. Returns the merged dict value."""
    out = model.copy(target)
    for key, entry in model.items(other):
        old = model.get(out, key)
        how = "replace"
        if model.is_dict(entry):
            entry, delete = model.take_delete(entry)
            if old is not None and model.is_dict(old) and not delete:
                entry = model.with_dict(entry, merge_nested(model.dict_of(entry), model.dict_of(old), model))
                how = "merge"
            elif delete:
                how = "delete"
        if old is not None:
            entry = model.record(entry, old, how)
        model.put(out, key, entry)
    return out


class PlainDicts:
    """The value model of readers that hold plain Python values."""

    def is_dict(self, entry):
        return isinstance(entry, dict)

    def items(self, d):
        return list(d.items())

    def get(self, d, key):
        return d.get(key)

    def put(self, d, key, entry):
        d[key] = entry

    def copy(self, d):
        return dict(d)

    def clear(self, d):
        d.clear()

    def take_delete(self, entry):
        if DELETE_KEY not in entry:
            return entry, False
        entry = dict(entry)
        return entry, bool(entry.pop(DELETE_KEY))

    def dict_of(self, entry):
        return entry

    def with_dict(self, entry, d):
        return d

    def type_name(self, entry):
        return type(entry).__name__

    def record(self, entry, old, how):
        return entry  # plain values keep no history


PLAIN = PlainDicts()

"""Where a config key is set: key path -> file:line, across ``_base_`` files.

Built from a syntax-tree reading of the config and its bases, without executing them,
so it also works for configs that fail to load. Assignments in a child override its
bases; a key inherited unchanged points into the base file that set it.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int = 1
    origin: str = "config"  # "config" or "cfg-options"


def _mmdet_config_root() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("mmdet")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / ".mim" / "configs"
    return root if root.is_dir() else None


def resolve_base(base: str, relative_to: Path) -> Path | None:
    """Resolve one ``_base_`` entry the way mmengine does for local and ``mmdet::`` paths."""
    if "::" in base:
        scope, rel = base.split("::", 1)
        if scope != "mmdet":
            return None
        root = _mmdet_config_root()
        return (root / rel) if root else None
    return (relative_to.parent / base).resolve()


class SourceMap:
    def __init__(self) -> None:
        self._where: dict[str, SourceLocation] = {}
        self.files: list[Path] = []

    def locate(self, key_path: str | None) -> SourceLocation | None:
        """The location of the key, or of its nearest set ancestor."""
        if not key_path:
            return None
        parts = key_path.split(".")
        while parts:
            loc = self._where.get(".".join(parts))
            if loc is not None:
                return loc
            parts.pop()
        return None

    def keys(self):
        return self._where.keys()

    def set(self, key_path: str, loc: SourceLocation) -> None:
        self._where[key_path] = loc

    def add_cfg_options(self, options: dict) -> None:
        for key in options:
            self.set(key, SourceLocation(file="<cfg-options>", line=0, origin="cfg-options"))

    @classmethod
    def from_file(cls, path: str | os.PathLike, display=lambda p: str(p)) -> "SourceMap":
        sm = cls()
        sm._read(Path(path).resolve(), display, seen=set())
        return sm

    def _read(self, path: Path, display, seen: set) -> None:
        if path in seen or not path.is_file():
            return
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            return
        # Bases first, so that this file's assignments override theirs.
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
                for base in _string_list(node.value):
                    resolved = resolve_base(base, path)
                    if resolved is not None:
                        self._read(resolved, display, seen)
        self.files.append(path)
        shown = display(path)
        for node in tree.body:
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and t.id != "_base_":
                    self._record(t.id, node.value, shown, node)
            # ``model.update(...)``/``x['k'] = v`` forms are rare in configs; the key's
            # top-level assignment still gives a useful location for them.
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    path_ = _subscript_path(t)
                    if path_:
                        self._record(path_, node.value, shown, node)

    def _record(self, key: str, value: ast.AST, file: str, node: ast.AST) -> None:
        self.set(key, SourceLocation(file, node.lineno, node.col_offset + 1))
        for sub, subvalue, subnode in _children(value):
            self._record(f"{key}.{sub}", subvalue, file, subnode)


def _string_list(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _children(node: ast.AST):
    """(key, value node, node for the line) for dict(...) calls, {...} literals and lists."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        for kw in node.keywords:
            if kw.arg is not None:
                yield kw.arg, kw.value, kw.value if hasattr(kw.value, "lineno") else node
    elif isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and isinstance(k.value, (str, int)):
                yield str(k.value), v, k
    elif isinstance(node, (ast.List, ast.Tuple)):
        for i, e in enumerate(node.elts):
            yield str(i), e, e


def _subscript_path(node: ast.AST) -> str | None:
    keys = []
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        if isinstance(node, ast.Attribute):
            keys.append(node.attr)
            node = node.value
        else:
            sl = node.slice
            if isinstance(sl, ast.Constant) and isinstance(sl.value, (str, int)):
                keys.append(str(sl.value))
            else:
                return None
            node = node.value
    if isinstance(node, ast.Name) and keys:
        return ".".join([node.id] + keys[::-1])
    return None

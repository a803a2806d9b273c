"""Reading a config without executing any of its code (``--no-exec``).

The config file and its ``_base_`` files (or ``read_base()`` imports) are read as syntax
trees and evaluated as data (:mod:`detaudit.load.static_eval`). Bases are found and merged
with mmengine's semantics (:mod:`detaudit.load.bases`: ``_delete_``, a child dict over a base
non-dict refused), and duplicate keys among ``_base_`` files are refused as mmengine refuses
them. Nothing is imported, nothing from the environment is substituted, no file is written.

Whatever cannot be read that way (a function call, a loop, an ``if``, a class) becomes a
:class:`StaticIssue`; the value it would have produced is left out, so the rest of the
config still reads. So does a base in a package that is not installed here (``mmdet::``
bases where only detaudit is installed, as in the light pre-commit hook). A file that cannot
be read at all (syntax error, missing or circular ``_base_``) raises
:class:`StaticConfigError` with the file and line.
"""
from __future__ import annotations

import ast
import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .bases import (BASE_KEY, MAX_BASE_DEPTH, PLAIN, BaseError, MergeTypeError, PackageMissing, base_entries,
                    base_statement, is_pure_python, is_read_base, merge_into, resolve_base, resolve_read_base_import)
from .static_eval import Env

MAX_FILE_BYTES = 8 * 1024 * 1024     # a config larger than this is not a config


@dataclass
class StaticIssue:
    file: str
    line: int | None
    message: str
    key: str | None = None        # the config key whose value could not be read, if known


@dataclass
class StaticConfig:
    cfg: dict
    issues: list[StaticIssue] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


class StaticConfigError(Exception):
    """The config cannot be read at all without executing it."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


def read_static(path: str | os.PathLike, display=str) -> StaticConfig:
    """Read ``path`` (a .py, .json, .yaml or .yml config) and its bases without executing them."""
    reader = StaticReader(display)
    cfg = reader.read(Path(path), stack=())
    return StaticConfig(cfg=cfg, issues=reader.issues, files=reader.files)


class StaticReader:
    def __init__(self, display):
        self.display = display
        self.issues: list[StaticIssue] = []
        self.files: list[Path] = []

    def issue(self, file: Path, node, message: str, key: str | None = None) -> None:
        line = getattr(node, "lineno", None) if node is not None else None
        self.issues.append(StaticIssue(self.display(file), line, message, key))

    def unread_base(self, path: Path, node, names: list[str], package: str) -> None:
        """Bases in a package this environment lacks (the light pre-commit hook has no mmdet):
        the rest is read, and the issue says which values are unknown."""
        listed = ", ".join(f"'{n}'" for n in names)
        one = len(names) == 1
        self.issue(path, node, f"{'base' if one else 'bases'} {listed}: package '{package}' is not installed in this "
                               f"environment, so the values {'it sets' if one else 'they set'} are unknown to the "
                               f"static rules (install {package} here to read {'it' if one else 'them'})")

    # ------------------------------------------------------------------ one file
    def read(self, path: Path, stack: tuple) -> dict:
        path = Path(os.path.abspath(os.path.expanduser(str(path))))
        shown = self.display(path)
        if path in stack:
            chain = " -> ".join(self.display(p) for p in stack + (path,))
            raise StaticConfigError(f"circular _base_ chain: {chain}", shown, None)
        if len(stack) >= MAX_BASE_DEPTH:
            raise StaticConfigError(f"_base_ chain deeper than {MAX_BASE_DEPTH} files", shown, None)
        if not path.exists():
            raise StaticConfigError(f"no such file: {path}", shown, None)
        if not path.is_file():
            raise StaticConfigError(f"not a regular file: {path}", shown, None)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise StaticConfigError(f"{size:,} bytes is too large for a config (limit {MAX_FILE_BYTES:,})",
                                    shown, None)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StaticConfigError(f"cannot read: {exc.strerror or exc}", shown, None) from None
        self.files.append(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            return self._read_json(data, shown)
        if suffix in (".yaml", ".yml"):
            return self._read_yaml(data, shown)
        if suffix != ".py":
            raise StaticConfigError("only .py, .json, .yaml and .yml configs are supported", shown, None)
        try:
            tree = ast.parse(data, filename=str(path))
        except SyntaxError as exc:
            raise StaticConfigError(f"SyntaxError: {exc.msg}", shown, exc.lineno) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise StaticConfigError(f"{type(exc).__name__}: {exc}", shown, None) from None
        try:
            pure_python = is_pure_python(tree)
        except BaseError as exc:
            raise StaticConfigError(exc.message, shown, exc.line) from None
        if pure_python:
            return self._read_lazy(path, tree, stack)
        return self._read_base_style(path, tree, stack)

    def _read_json(self, data: bytes, shown: str) -> dict:
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise StaticConfigError(f"invalid JSON: {exc}", shown, getattr(exc, "lineno", None)) from None
        if not isinstance(value, dict):
            raise StaticConfigError("a JSON config must be an object", shown, 1)
        if BASE_KEY in value:
            raise StaticConfigError("_base_ in JSON/YAML configs is not read by --no-exec", shown, None)
        return value

    def _read_yaml(self, data: bytes, shown: str) -> dict:
        try:
            import yaml
        except ImportError:
            raise StaticConfigError("YAML configs need PyYAML", shown, None) from None
        try:
            value = yaml.safe_load(data.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
            raise StaticConfigError(f"invalid YAML: {exc}", shown, None) from None
        if not isinstance(value, dict):
            raise StaticConfigError("a YAML config must be a mapping", shown, 1)
        if BASE_KEY in value:
            raise StaticConfigError("_base_ in JSON/YAML configs is not read by --no-exec", shown, None)
        return value

    # ------------------------------------------------------------------ _base_ style
    def _read_base_style(self, path: Path, tree: ast.Module, stack: tuple) -> dict:
        shown = self.display(path)
        base_node = base_statement(tree)
        try:
            bases = base_entries(tree)
        except BaseError as exc:
            raise StaticConfigError(exc.message, shown, exc.line) from None
        merged: dict = {}
        unread: dict[str, list[str]] = {}   # package -> its bases this environment cannot read
        for base in bases:
            try:
                base_path = resolve_base(base, path)
            except PackageMissing as exc:
                unread.setdefault(exc.package, []).append(base)
                continue
            except BaseError as exc:
                raise StaticConfigError(f"cannot resolve _base_ '{base}': {exc.message}", shown,
                                        base_node.lineno) from None
            base_cfg = self.read(base_path, stack + (path,))
            duplicate = sorted(set(merged) & set(base_cfg))
            if duplicate:
                raise StaticConfigError(f"duplicate keys among _base_ files: {duplicate}", shown, base_node.lineno)
            merged.update(base_cfg)
        for package, names in unread.items():
            self.unread_base(path, base_node, names, package)
        env = Env(self, path, lazy=False)
        env.names[BASE_KEY] = merged
        env.run(tree.body)
        own = {k: v for k, v in env.names.items()
               if k != BASE_KEY and not k.startswith("__") and k not in env.imported}
        try:
            return merge_into(own, merged, PLAIN)
        except MergeTypeError as exc:
            raise StaticConfigError(str(exc), shown, None) from None

    # ------------------------------------------------------------------ read_base() style
    def _read_lazy(self, path: Path, tree: ast.Module, stack: tuple) -> dict:
        env = Env(self, path, lazy=True)
        body = []
        for node in tree.body:
            if isinstance(node, ast.With) and is_read_base(node):
                for inner in node.body:
                    if not isinstance(inner, ast.ImportFrom) or inner.module is None:
                        raise StaticConfigError("only `from ... import ...` may appear inside read_base()",
                                                self.display(path), inner.lineno)
                    try:
                        module_path = resolve_read_base_import(inner.module, inner.level, path)
                    except PackageMissing as exc:
                        self.unread_base(path, inner, [inner.module], exc.package)
                        continue
                    except BaseError as exc:
                        raise StaticConfigError(exc.message, self.display(path), inner.lineno) from None
                    base_cfg = self.read(module_path, stack + (path,))
                    for alias in inner.names:
                        if alias.name == "*":
                            env.names.update(copy.deepcopy({k: v for k, v in base_cfg.items()
                                                            if not k.startswith("_")}))
                        elif alias.name in base_cfg:
                            env.names[alias.asname or alias.name] = copy.deepcopy(base_cfg[alias.name])
                        else:
                            raise StaticConfigError(f"cannot import name '{alias.name}' from {inner.module}",
                                                    self.display(path), inner.lineno)
            else:
                body.append(node)
        env.run(body)
        return {k: v for k, v in env.names.items() if not k.startswith("__") and k not in env.imported}

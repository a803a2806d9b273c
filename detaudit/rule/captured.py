"""Module-level variables that a base config read into its dicts, and children that redefine them.

mmengine executes each config file on its own: when a base file says ``data_root = 'data/coco/'``
and then ``train_dataloader = dict(dataset=dict(data_root=data_root, ...))``, the dict holds the
string, not the name. A child that writes ``data_root = '/data/coco/'`` replaces the top-level
key ``data_root`` and nothing else; every dict the base built from it keeps the base's value.
The same holds for pipelines (``pipeline=train_pipeline``), image sizes, class tuples, epochs,
learning rates and any other variable a base reads.

This module reads each file's syntax tree (no execution) and lists, per file, where its
top-level dicts read one of its own module-level variables (:func:`captures`), following a
variable that holds a dict or a list into the values it contributes (``dataset=train_dataset``
whose ``pipeline=train_pipeline`` whose steps read ``img_scale``).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# Top-level keys the Runner (or a model built from the config) reads: a stale value elsewhere
# (``train_dataset`` in a YOLOX base, which only the base itself reads) costs nothing.
READ_KEYS = ("model", "train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator", "test_evaluator",
             "train_cfg", "val_cfg", "test_cfg", "optim_wrapper", "param_scheduler", "default_hooks",
             "custom_hooks", "visualizer", "auto_scale_lr", "env_cfg", "log_processor", "load_from")
MAX_DEPTH = 12


@dataclass(frozen=True)
class Capture:
    """A key path whose value a file computed from one of its module-level variables."""

    file: Path
    key_path: str       # where the value sits in the config ("train_dataloader.dataset.data_root")
    variable: str       # the variable it was computed from ("data_root")
    direct: bool        # the value *is* the variable (``data_root=data_root``), not an expression of it
    line: int           # the statement of ``file`` that wrote the top-level key
    var_line: int       # where ``file`` defined the variable


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


class _FileReader:
    def __init__(self, path: Path, tree: ast.Module):
        self.path = path
        self.tree = tree
        self.out: list[Capture] = []

    def read(self) -> list[Capture]:
        defs: dict[str, tuple[ast.AST, int]] = {}
        for stmt in self.tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            name = stmt.targets[0].id
            if name.startswith("_"):
                continue
            if name in READ_KEYS:
                self._walk(stmt.value, name, defs, stmt.lineno, 0, set())
            defs[name] = (stmt.value, stmt.lineno)
        return self.out

    def _walk(self, node: ast.AST, path: str, defs: dict, line: int, depth: int, active: set) -> None:
        if depth > MAX_DEPTH:
            return
        if _call_name(node) == "dict" and not node.args:
            for kw in node.keywords:
                if kw.arg is not None:
                    self._walk(kw.value, f"{path}.{kw.arg}", defs, line, depth + 1, active)
            return
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    self._walk(v, f"{path}.{k.value}", defs, line, depth + 1, active)
            return
        if isinstance(node, (ast.List, ast.Tuple)) and any(_call_name(e) == "dict" or isinstance(e, ast.Dict)
                                                           for e in node.elts):
            for i, e in enumerate(node.elts):
                self._walk(e, f"{path}.{i}", defs, line, depth + 1, active)
            return
        if isinstance(node, ast.Name) and node.id in defs and node.id not in active:
            value, var_line = defs[node.id]
            self.out.append(Capture(self.path, path, node.id, True, line, var_line))
            # the variable's own value may read other variables (a pipeline reading img_scale)
            self._walk(value, path, defs, line, depth + 1, active | {node.id})
            return
        for name in sorted(_names(node)):
            if name in defs and name not in active:
                self.out.append(Capture(self.path, path, name, False, line, defs[name][1]))


def captures(path: Path) -> list[Capture]:
    """Every key path ``path``'s top-level dicts compute from its own module-level variables."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return []
    return _FileReader(Path(path), tree).read()


def assignment_snippet(key_path: str, variable: str, direct: bool) -> str:
    """The line that makes a dict read the child's variable: ``train_dataloader =
    dict(dataset=dict(data_root=data_root))``. A path through a list is rewritten at the list."""
    parts = key_path.split(".")
    cut = next((i for i, p in enumerate(parts) if p.isdigit()), None)
    if cut is not None:
        parts = parts[:cut]
        value = f"<the list, rewritten with {variable}>"
    else:
        value = variable if direct else f"<the expression, with {variable}>"
    text = value
    for p in reversed(parts[1:]):
        text = f"dict({p}={text})"
    return f"{parts[0]} = {text}"


def iter_files(files) -> Iterator[Path]:
    seen = set()
    for f in files:
        p = Path(f)
        if p.suffix == ".py" and p not in seen:
            seen.add(p)
            yield p

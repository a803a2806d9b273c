"""Which ``.py`` files of a folder are configs, read from their syntax trees (nothing executed).

A project keeps its model code, scripts and helpers next to its configs (mmdetection's
``projects/CO-DETR`` has ``configs/`` and ``codetr/``). A folder audit keeps a file when it sets
one of a config's top-level names at module level (``model``, ``*_dataloader``, ``_base_``,
``train_cfg``, ...) or imports its bases in a ``with read_base():`` block; and of those, it skips a
partial config that another config of the folder inherits and that has no ``model`` of its own or
through its bases (a schedule or dataset part kept outside ``_base_``). Files named explicitly are
always audited; this only filters what a folder or a glob expands to.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

# mmengine's and mmdet's config names (3.x and the 2.x ones configs still carry)
CONFIG_NAMES = frozenset({
    "model", "_base_", "custom_imports", "default_scope", "load_from", "resume", "work_dir", "launcher",
    "train_cfg", "val_cfg", "test_cfg", "optim_wrapper", "optimizer", "optimizer_config", "param_scheduler",
    "lr_config", "auto_scale_lr", "default_hooks", "custom_hooks", "env_cfg", "log_processor", "log_level",
    "log_config", "visualizer", "vis_backends", "randomness", "runner", "evaluation", "checkpoint_config",
    "train_pipeline", "test_pipeline", "tta_model", "tta_pipeline", "dataset_type", "data_root", "data",
    "backend_args", "workflow", "dist_params",
})
_CONFIG_NAME_PATTERNS = re.compile(r".+_(dataloader|evaluator)$")
NOTE_NAMES = "model, *_dataloader, _base_, read_base(), train_cfg, ..."


@dataclass
class ConfigShape:
    """What a file's syntax tree says about it as a config."""

    names: set[str] = field(default_factory=set)     # config names it sets at module level
    read_base: bool = False                           # has a `with read_base():` block
    bases: list[Path] = field(default_factory=list)   # the base files it names that exist here
    unresolved_bases: bool = False                    # a base this reading cannot follow (mmdet::...)
    parsed: bool = True

    @property
    def is_config(self) -> bool:
        return not self.parsed or self.read_base or bool(self.names)


def config_shape(path: Path) -> ConfigShape:
    """Read ``path`` without running it. A file that does not parse is kept as a config: the
    audit reports its syntax error (DA001)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return ConfigShape(parsed=False)
    shape = ConfigShape()
    for node in _module_level(tree.body):
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(_is_read_base(item.context_expr)
                                                                 for item in node.items):
            shape.read_base = True
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    _add_base(shape, path, _import_path(path, stmt))
            continue
        for name in _assigned_names(node):
            if name in CONFIG_NAMES or _CONFIG_NAME_PATTERNS.fullmatch(name):
                shape.names.add(name)
            if name == "_base_":
                value = getattr(node, "value", None)
                for base in _literal_strings(value):
                    _add_base(shape, path, None if "::" in base else (path.parent / base))
    return shape


def select_configs(files: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(configs to audit, [(skipped file, why)]) among the files a folder or glob expanded to."""
    shapes = {f: config_shape(f) for f in files}
    configs = [f for f in files if shapes[f].is_config]
    skipped = [(f, f"sets none of a config's names ({NOTE_NAMES})") for f in files if not shapes[f].is_config]
    inherited: dict[Path, Path] = {}
    for f in configs:
        for base in shapes[f].bases:
            inherited.setdefault(_resolved(base), f)
    partial = []
    for f in configs:
        child = inherited.get(_resolved(f))
        if child is not None and not _has_model(f, shapes, set()):
            partial.append(f)
            skipped.append((f, f"a partial config without a model, inherited by {child.name}"))
    kept = [f for f in configs if f not in partial]
    return kept, sorted(skipped)


def _has_model(path: Path, shapes: dict, seen: set, depth: int = 0) -> bool:
    """Whether ``path`` sets ``model`` itself or through a base (unknown bases count as yes)."""
    key = _resolved(path)
    if key in seen or depth > 20:
        return False
    seen.add(key)
    shape = shapes.get(path) or config_shape(path)
    if "model" in shape.names or shape.unresolved_bases or not shape.parsed:
        return True
    return any(_has_model(base, shapes, seen, depth + 1) for base in shape.bases)


def _module_level(body):
    """Module-level statements, looking into if/try/with blocks but not into functions or classes."""
    for node in body:
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            continue  # a script's `if __name__ == '__main__':` never runs when a config is loaded
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.For, ast.While)):
            for part in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, part, []) or [])
            for handler in getattr(node, "handlers", []) or []:
                yield from _module_level(handler.body)
        elif isinstance(node, (ast.With, ast.AsyncWith)) and not any(_is_read_base(i.context_expr)
                                                                       for i in node.items):
            yield from _module_level(node.body)


def _is_main_guard(test) -> bool:
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__" and \
        any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)


def _assigned_names(node) -> list[str]:
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _is_read_base(expr) -> bool:
    func = expr.func if isinstance(expr, ast.Call) else None
    return (isinstance(func, ast.Name) and func.id == "read_base") or \
        (isinstance(func, ast.Attribute) and func.attr == "read_base")


def _literal_strings(value) -> list[str]:
    try:
        literal = ast.literal_eval(value) if value is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []
    if isinstance(literal, str):
        return [literal]
    if isinstance(literal, (list, tuple)):
        return [b for b in literal if isinstance(b, str)]
    return []


def _import_path(path: Path, stmt: ast.ImportFrom) -> Path | None:
    """The file a relative ``from .x import *`` inside read_base() reads (absolute ones: unknown)."""
    if not stmt.level:
        return None
    folder = path.parent
    for _ in range(stmt.level - 1):
        folder = folder.parent
    parts = (stmt.module or "").split(".") if stmt.module else []
    return folder.joinpath(*parts).with_suffix(".py") if parts else None


def _add_base(shape: ConfigShape, path: Path, base: Path | None) -> None:
    if base is None or not base.is_file():
        shape.unresolved_bases = True
    else:
        shape.bases.append(base)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path

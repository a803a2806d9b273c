"""Migrating a tree of MMDetection 2.x configs to 3.x, bases included, inheritance kept.

Each file is read as merged data (without executing it, :mod:`detaudit.load.static_reader`),
converted (:mod:`.convert`), and written as what it must say over its own converted bases
(:func:`.write.override`), so a base stays a base and a child stays a small child. Bases are
converted before the configs that inherit them, in a private staging folder; the result is then
checked (the staged file, read back, says what the conversion wanted) and written out: to
``--out DIR`` (same layout), over the originals (``--in-place``, atomically, all or nothing), or
shown as a unified diff (``--diff``).
"""
from __future__ import annotations

import ast
import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..load.bases import BASE_KEY
from .convert import convert
from .write import _same, module_text, override

LEGACY_KEYS = ("data", "optimizer", "optimizer_config", "lr_config", "runner", "evaluation", "checkpoint_config",
               "log_config", "total_epochs", "workflow", "dist_params", "resume_from")
MODERN_KEYS = ("train_dataloader", "val_dataloader", "optim_wrapper", "param_scheduler", "train_cfg",
               "val_evaluator", "default_hooks")


class MigrateError(Exception):
    """The input cannot be migrated as asked (the message says why); nothing was written."""


@dataclass
class FileResult:
    source: Path
    status: str = "converted"          # converted | unchanged | already-3.x | failed
    message: str = ""
    notes: list[tuple[str, str]] = field(default_factory=list)   # (key, what was left for the user)
    text: str | None = None


@dataclass
class Migration:
    root: Path
    files: dict[Path, FileResult] = field(default_factory=dict)

    def changed(self) -> dict[Path, str]:
        return {p: r.text for p, r in self.files.items()
                if r.status == "converted" and r.text is not None}


def collect(paths: list[str]) -> tuple[Path, list[Path]]:
    """The config files the paths name (folders: every .py below), and their common folder."""
    files: list[Path] = []
    roots: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise MigrateError(f"{raw}: no such file or folder")
        if p.is_dir():
            roots.append(p.resolve())
            files += sorted(f.resolve() for f in p.rglob("*.py") if f.is_file())
        else:
            roots.append(p.resolve().parent)
            files.append(p.resolve())
    if not files:
        raise MigrateError("no .py config files in the given paths")
    root = Path(os.path.commonpath([str(r) for r in roots]))
    return root, list(dict.fromkeys(files))


def _bases_of(path: Path, tree: ast.Module) -> tuple[object, list[Path]]:
    """The ``_base_`` value as written, and the files it names (resolved next to ``path``)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in stmt.targets):
            try:
                value = ast.literal_eval(stmt.value)
            except ValueError:
                raise MigrateError(f"{path}: _base_ is not a literal") from None
            names = value if isinstance(value, list) else [value]
            out = []
            for name in names:
                if not isinstance(name, str) or "::" in name:
                    raise MigrateError(f"{path}: base {name!r} is in an installed package, outside the given tree")
                out.append((path.parent / name).resolve())
            return value, out
    return None, []


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines).strip("\n")


def migrate(paths: list[str]) -> Migration:
    root, files = collect(paths)
    parsed: dict[Path, tuple[str, ast.Module]] = {}
    order: list[Path] = []
    seen: set[Path] = set()

    def visit(path: Path, stack: tuple) -> None:
        if path in stack:
            raise MigrateError(f"{path}: circular _base_")
        if path in seen:
            return
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise MigrateError(f"{path}:{exc.lineno}: does not parse: {exc.msg}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MigrateError(f"{path}: cannot read: {exc}") from None
        parsed[path] = (text, tree)
        for base in _bases_of(path, tree)[1]:
            if not base.is_file():
                raise MigrateError(f"{path}: base {base} does not exist")
            visit(base, stack + (path,))
        seen.add(path)
        order.append(path)

    for f in files:
        visit(f, ())
    all_files = list(parsed)
    root = Path(os.path.commonpath([str(root)] + [str(p.parent) for p in all_files]))
    result = Migration(root=root)
    stage = Path(tempfile.mkdtemp(prefix="detaudit-migrate-"))
    try:
        for path in all_files:  # every file where it will be read from, converted ones replaced as they go
            target = stage / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(parsed[path][0], encoding="utf-8")
        for path in order:
            result.files[path] = _migrate_one(path, parsed[path], stage / path.relative_to(root))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return result


def _is_legacy(cfg: dict) -> bool:
    """2.x keys, or a whole model without the data preprocessor every 3.x model has."""
    data = cfg.get("data")
    legacy = [k for k in LEGACY_KEYS if k in cfg and k != "data"]
    if isinstance(data, dict) and any(k in data for k in ("train", "val", "test", "samples_per_gpu")):
        legacy.append("data")
    model = cfg.get("model")
    if isinstance(model, dict) and "type" in model and "data_preprocessor" not in model \
            and not any(k in cfg for k in MODERN_KEYS):
        legacy.append("model")
    return bool(legacy)


def _migrate_one(path: Path, parsed: tuple[str, ast.Module], staged: Path) -> FileResult:
    from ..load.static_reader import StaticConfigError, read_static

    text, tree = parsed
    res = FileResult(source=path)
    try:
        merged = read_static(path)   # the 2.x config as it is (its bases unconverted)
    except StaticConfigError as exc:
        res.status, res.message = "failed", f"cannot be read without executing it: {exc.message}"
        return res
    cfg = merged.cfg
    for issue in merged.issues:
        res.notes.append((issue.key or "?", f"not readable as data, left out: {issue.message}"))
    if not _is_legacy(cfg):
        if any(k in cfg for k in MODERN_KEYS):
            res.status, res.message = "already-3.x", "already an MMDetection 3.x config: left as it is"
        else:
            res.status, res.message = "unchanged", "no MMDetection 2.x keys: left as it is"
        return res
    wanted, notes = convert(cfg)
    for n in notes:
        res.notes.append((n.key, n.message))
    bases_value, _ = _bases_of(path, tree)
    staged.write_text("" if bases_value is None else f"{BASE_KEY} = {bases_value!r}\n", encoding="utf-8")
    try:
        inherited = read_static(staged).cfg if bases_value is not None else {}
    except StaticConfigError as exc:
        res.status, res.message = "failed", f"its converted bases do not read: {exc.message}"
        staged.write_text(text, encoding="utf-8")
        return res
    body = override(wanted, inherited)
    by_key: dict[str, list[str]] = {}
    for key, message in res.notes:
        by_key.setdefault(key.split(".")[0], []).append(message)
    res.text = module_text(_header(text), bases_value, body, {k: v for k, v in by_key.items() if k in body})
    staged.write_text(res.text, encoding="utf-8")
    try:
        check = read_static(staged).cfg
    except StaticConfigError as exc:
        res.status, res.message = "failed", f"the converted file does not read: {exc.message}"
        return res
    lost = [k for k in set(wanted) | set(check) if not _same(wanted.get(k), check.get(k))]
    if lost:
        res.notes.append((lost[0], f"the written file merges differently from the conversion at {', '.join(sorted(lost)[:5])}"))
    return res


def diffs(migration: Migration) -> str:
    out = []
    for path, text in migration.changed().items():
        old = path.read_text(encoding="utf-8")
        out.append("".join(difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                                fromfile=str(path), tofile=str(path))))
    return "".join(out)


def write_out(migration: Migration, out_dir: Path | None, in_place: bool) -> list[Path]:
    """Write every converted file (and, for --out, every other file of the tree so the bases are
    there); all writable or nothing written."""
    from ..atomic import write_atomic

    changed = migration.changed()
    if in_place:
        targets = {p: (p, t) for p, t in changed.items()}
    else:
        assert out_dir is not None
        targets = {}
        for p, r in migration.files.items():
            dest = out_dir / p.relative_to(migration.root)
            targets[p] = (dest, r.text if p in changed else p.read_text(encoding="utf-8"))
    for p, (dest, _) in targets.items():
        probe = dest if dest.exists() else _existing_parent(dest)
        if not os.access(probe, os.W_OK) or (dest.exists() and not os.access(dest.parent, os.W_OK)):
            raise MigrateError(f"{dest} is read-only: nothing written")
    written = []
    for p, (dest, text) in targets.items():
        mode = dest.stat().st_mode & 0o7777 if dest.exists() else None
        write_atomic(dest, text)
        if mode is not None:
            os.chmod(dest, mode)
        else:
            os.chmod(dest, 0o644)
        written.append(dest)
    return written


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path

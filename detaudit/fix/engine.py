"""Applying the fixes findings carry, one config at a time, verified before anything is written.

The config and its local bases are copied to a private staging folder (same layout, so relative
``_base_`` paths hold). Each finding's edits are made there (:mod:`.cst_edit`), then checked:

1. the merged config, read again, differs from before only at the keys the edits name;
2. the rule that reported the finding, run again at its tier on the staged copy, no longer
   reports it.

A fix that fails either check is undone in the staging folder and reported with the reason.
At the end the staged files that changed are written over the originals atomically, or, for
``--diff``, shown as a unified diff and nothing is written.

Where a key is inherited from a base, the safe fix writes an override into the audited config;
editing the base itself (which other configs may inherit) is the unsafe alternative, made only
with ``--unsafe-fixes`` and only when no override can be written.
"""
from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..atomic import write_atomic
from ..rule.fixes import SAFE, UNSAFE, edited_keys
from . import cst_edit
from .cst_edit import EditError

PACKAGE_DIRS = ("site-packages", "dist-packages")


@dataclass
class FixOutcome:
    code: str
    key_path: str | None
    description: str
    applicability: str
    applied: bool
    reason: str = ""
    files: list[str] = field(default_factory=list)


@dataclass
class ConfigFixes:
    config: str
    outcomes: list[FixOutcome] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)      # original file -> unified diff
    written: list[str] = field(default_factory=list)
    error: str | None = None


def wanted(finding, unsafe: bool) -> bool:
    fix = getattr(finding, "autofix", None)
    if not fix or not fix.get("edits"):
        return False
    return fix["applicability"] == SAFE or (unsafe and fix["applicability"] == UNSAFE)


# --------------------------------------------------------------------------- reading merged values
def merged_flat(config: Path) -> dict[str, object]:
    """Every leaf of the merged config, read without executing it, by dotted key path."""
    from ..load.static_reader import StaticConfigError, read_static

    try:
        cfg = read_static(config).cfg
    except StaticConfigError as exc:
        raise EditError(f"the edited config does not read: {exc.message}") from None
    out: dict[str, object] = {}
    _flatten(cfg, "", out)
    return out


def _flatten(value, prefix: str, out: dict) -> None:
    if isinstance(value, dict):  # an emptied dict (its last key deleted) reads as no keys at all
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, (list, tuple)):
        out[prefix + "#type"] = type(value).__name__
        if not value:
            out[prefix] = type(value)()
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def changed_keys(before: dict, after: dict) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k, _MISSING) != after.get(k, _MISSING))


_MISSING = object()


def outside(changed: list[str], allowed: list[str]) -> list[str]:
    def under(k: str) -> bool:
        k = k.removesuffix("#type")
        return any(k == a or k.startswith(a + ".") for a in allowed)

    return [k for k in changed if not under(k)]


# --------------------------------------------------------------------------- staging
class Stage:
    """Private copies of a config and its local bases, in the same layout."""

    def __init__(self, config: Path, files: list[Path]):
        local = [f for f in dict.fromkeys([config] + files) if f.is_file() and not _in_package(f)]
        self.root = Path(os.path.commonpath([str(f.parent) for f in local]))
        self.tmp = Path(tempfile.mkdtemp(prefix="detaudit-fix-"))
        self.original: dict[Path, str] = {}
        for f in local:
            copy = self.staged(f)
            copy.parent.mkdir(parents=True, exist_ok=True)
            text = f.read_text(encoding="utf-8")
            copy.write_text(text, encoding="utf-8")
            self.original[f] = text
        self.config = self.staged(config)

    def staged(self, real: Path) -> Path:
        return self.tmp / real.relative_to(self.root)

    def real(self, staged: Path) -> Path:
        return self.root / Path(staged).relative_to(self.tmp)

    def read(self, real: Path) -> str:
        return self.staged(real).read_text(encoding="utf-8")

    def write(self, real: Path, text: str) -> None:
        self.staged(real).write_text(text, encoding="utf-8")

    def changed(self) -> dict[Path, str]:
        return {f: self.read(f) for f, text in self.original.items() if self.read(f) != text}

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _in_package(path: Path) -> bool:
    return any(part in PACKAGE_DIRS or part == ".mim" for part in path.parts)


# --------------------------------------------------------------------------- one finding's edits
def _source_map(config: Path):
    from ..load.sourcemap import SourceMap

    return SourceMap.from_file(config, display=lambda p: str(p))


def _apply_edit(stage: Stage, edit: dict, unsafe: bool) -> tuple[Path, str]:
    """Make one edit in the staging folder; returns (real file edited, how)."""
    op = edit["op"]
    if op == "drop-suppression":
        real = _resolve_display(edit["file"], stage)
        stage.write(real, cst_edit.drop_suppression(stage.read(real), int(edit["line"]), edit["codes"]))
        return real, "in place"
    key = edit["key"]
    sm = _source_map(stage.config)
    name = key.rsplit(".", 1)[-1]
    loc = sm.locate(key) if key in sm.keys() else None
    if loc is not None and loc.origin == "cfg-options":
        raise EditError(f"{key} comes from --cfg-options, not from a file")
    owner = Path(loc.file) if loc is not None else None
    if owner is not None and owner == stage.config:
        real = stage.real(owner)
        stage.write(real, _in_place(stage.read(real), op, name, loc.line, edit))
        return real, "in place"
    # inherited (or not written anywhere yet): an override in the audited config is the safe edit
    config_real = stage.real(stage.config)
    try:
        value = _override_value(edit)
        stage.write(config_real, cst_edit.override(stage.read(config_real), key, value, lazy=sm.lazy))
        return config_real, "override in the config"
    except EditError as why:
        if owner is None or not unsafe:
            raise EditError(f"{why}; editing the base that sets {key} is an unsafe fix (--unsafe-fixes)"
                            if owner is not None else str(why)) from None
    try:
        real = stage.real(owner)
    except ValueError:
        raise EditError(f"{key} is set in {owner}, outside the config's folder tree: not edited") from None
    stage.write(real, _in_place(stage.read(real), op, name, loc.line, edit))
    return real, "in the base (unsafe)"


def _resolve_display(file: str, stage: Stage) -> Path:
    for candidate in (Path(file), Path.cwd() / file):
        path = candidate.resolve()
        if path in stage.original:
            return path
    raise EditError(f"{file} is not one of the config's files")


def _in_place(text: str, op: str, name: str, line: int, edit: dict) -> str:
    if op == "set":
        return cst_edit.set_in_place(text, name, line, edit["value"])
    if op == "rename":
        return cst_edit.rename_in_place(text, name, line, edit["to"])
    if op == "delete":
        return cst_edit.delete_in_place(text, name, line)
    if op == "reset":
        return cst_edit.reset_in_place(text, name, line, edit["restate"])
    raise EditError(f"unknown edit {op!r}")


def _override_value(edit: dict) -> str:
    if edit["op"] == "set":
        return edit["value"]
    raise EditError(f"a child cannot {edit['op']} {edit['key']}, which a base writes")


# --------------------------------------------------------------------------- a config's fixes
Reaudit = Callable[[str, list], list]   # (config path, rule codes) -> the findings those rules report


def fix_config(config: str | os.PathLike, findings: list, *, unsafe: bool, reaudit: Reaudit,
               write: bool) -> ConfigFixes:
    config_path = Path(config).resolve()
    result = ConfigFixes(config=str(config))
    todo = [f for f in findings if wanted(f, unsafe)]
    if not todo:
        return result
    try:
        files = [Path(f).resolve() for f in _source_map(config_path).files]
        stage = Stage(config_path, files)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        result.error = f"cannot read the config's files: {exc}"
        return result
    try:
        for finding in todo:
            result.outcomes.append(_fix_one(stage, finding, unsafe, reaudit))
        changed = stage.changed()
        for real, text in changed.items():
            result.diffs[str(real)] = "".join(difflib.unified_diff(
                stage.original[real].splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=str(real), tofile=str(real)))
        if write:
            result.error = _write_back(stage, changed, result)
    finally:
        stage.close()
    return result


def _fix_one(stage: Stage, finding, unsafe: bool, reaudit: Reaudit) -> FixOutcome:
    fix = finding.autofix
    outcome = FixOutcome(code=finding.code, key_path=finding.key_path, description=fix["description"],
                         applicability=fix["applicability"], applied=False)
    saved = {f: stage.read(f) for f in stage.original}
    try:
        before = merged_flat(stage.config)
        allowed = _aliases(_source_map(stage.config), edited_keys(fix["edits"]), fix["edits"]) + list(fix.get("also", []))
        for edit in fix["edits"]:
            real, how = _apply_edit(stage, edit, unsafe)
            outcome.files.append(f"{real} ({how})")
        after = merged_flat(stage.config)
        extra = outside(changed_keys(before, after), allowed)
        if extra:
            raise EditError(f"it would also change {', '.join(extra[:5])}")
        codes = [finding.code] + [c for e in fix["edits"] for c in e.get("codes", ())]  # a suppression's rules
        still = [f for f in reaudit(str(stage.config), list(dict.fromkeys(codes))) if _same(f, finding)]
        if still:
            raise EditError("the rule still reports the finding afterwards")
    except EditError as why:
        for f, text in saved.items():
            stage.write(f, text)
        outcome.reason = str(why)
        outcome.files = []
        return outcome
    outcome.applied = True
    return outcome


def _aliases(sm, keys: list[str], edits: list[dict]) -> list[str]:
    """The keys, and every other key the same written value reaches (``metainfo = dict(...)`` used by
    three dataloaders: one edit of that line changes all of them, as the finding says); a renamed
    key's aliases under their new name too."""
    out = list(keys)
    where = {}
    for k in sm.keys():
        where.setdefault(sm.locate(k), []).append(k)
    renames = {e["key"]: e["to"] for e in edits if e.get("op") == "rename"}
    for key in keys:
        if key not in sm.keys():
            continue
        leaf = key.rsplit(".", 1)[-1]
        same = [k for k in where.get(sm.locate(key), []) if k.rsplit(".", 1)[-1] == leaf]
        out += same
        if key in renames:
            out += [k.rsplit(".", 1)[0] + "." + renames[key] if "." in k else renames[key] for k in same]
    return list(dict.fromkeys(out))


def _same(a, b) -> bool:
    if a.code != b.code:
        return False
    if a.key_path or b.key_path:
        return a.key_path == b.key_path
    return a.message == b.message


def _write_back(stage: Stage, changed: dict[Path, str], result: ConfigFixes) -> str | None:
    """Every changed file or none: check all can be written first, then write each atomically."""
    for real in changed:
        if real.read_text(encoding="utf-8") != stage.original[real]:
            return f"{real} changed while it was being fixed: nothing written"
        if not os.access(real, os.W_OK) or not os.access(real.parent, os.W_OK):
            return f"{real} is read-only: nothing written"
    for real, text in changed.items():
        mode = real.stat().st_mode & 0o7777
        write_atomic(real, text)
        os.chmod(real, mode)  # the temporary file's private mode must not replace the user's
        result.written.append(str(real))
    return None

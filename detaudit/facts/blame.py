"""Which of the config's own edits a crash comes from: each edit put back as the zoo wrote it.

A config written on a zoo recipe (``_base_ = 'mmdet::...'``, or ``read_base()`` of mmdet's
modules) differs from that recipe by the edits its own files make. The recipe builds and runs, so
when the model fails to build, predict, compute its loss or take a step, the cause lies in
those edits (or in their meeting with what the recipe kept). :func:`blame` finds the smallest set
of edits whose return to the recipe's values makes the failing pass succeed, by halving the set
of edits (delta debugging: about two passes per halving), and names those keys.

The recipe is every installed-package config the user's own files inherit from directly (the
frontier of the inheritance tree), merged in order. Edits are the leaves where the audited
config and the recipe differ; a dict whose ``type`` changed, or a list whose length changed, is
one edit as a whole. Each trial audits an in-memory copy of the config in a fresh context: the
user's files are never touched. A time and trial budget bounds the search; when the recipe itself
fails the pass (the machine's doing, or the recipe's), or no small set explains it, nothing is
blamed.
"""
from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FactUnavailable
from ..rule.config import is_mapping

MISSING = object()
MAX_TRIALS = 24
BUDGET_S = 60.0
MAX_BLAMED = 3
PASS_FACT = {"build": "model", "predict": "predict_result", "loss": "loss_result", "step": "step_result"}
BUILD_KEYS = ("model", "custom_imports", "default_scope")  # what building the model reads


@dataclass(frozen=True)
class Edit:
    key_path: str
    mine: Any        # the value the audited config ends with (MISSING: it removed the key)
    recipe: Any      # the recipe's value (MISSING: the config added the key)

    def describe(self) -> str:
        if self.recipe is MISSING:
            return f"{self.key_path} (added here: {_show(self.mine)})"
        if self.mine is MISSING:
            return f"{self.key_path} (removed here; the recipe has {_show(self.recipe)})"
        return f"{self.key_path} = {_show(self.mine)} (the recipe: {_show(self.recipe)})"


def _show(value) -> str:
    text = repr(getattr(value, "__name__", value)) if isinstance(value, type) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_package_file(path: Path) -> bool:
    text = str(path).replace("\\", "/")
    return "/site-packages/" in text or "/dist-packages/" in text or "/.mim/configs/" in text


def recipe_files(config_path: Path | None) -> list[Path]:
    """The installed-package configs the user's own files inherit from directly, in the order
    mmengine merges them (depth first); empty for a package config or one with no package base."""
    from ..load.bases import inherited_files

    if config_path is None or is_package_file(Path(os.path.abspath(config_path))):
        return []
    out: list[Path] = []
    seen: set[Path] = set()

    def visit(p: Path, depth: int) -> None:
        if p in seen or depth > 20:
            return
        seen.add(p)
        for base in inherited_files(p):
            if is_package_file(base):
                if base not in out:
                    out.append(base)
            else:
                visit(base, depth + 1)

    visit(Path(os.path.abspath(config_path)), 0)
    return out


def load_recipe(files: list[Path]):
    """The recipe as one Config (the files merged in order, a later one over an earlier one)."""
    from mmengine.config import Config

    from .sandbox import quiet

    merged = None
    with quiet():
        for f in files:
            cfg = Config.fromfile(str(f))
            if merged is None:
                merged = cfg
            else:
                merged.merge_from_dict(cfg.to_dict())
    return merged


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are taken as different
        return False


def edits(mine, recipe, path: str = "") -> list[Edit]:
    """The leaves where ``mine`` and ``recipe`` differ; a dict of another ``type`` or a list of
    another length is one edit."""
    if is_mapping(mine) and is_mapping(recipe):
        if path and not _same(mine.get("type"), recipe.get("type")):
            return [Edit(path, mine, recipe)]
        out = []
        for key in list(mine.keys()) + [k for k in recipe.keys() if k not in mine]:
            if not isinstance(key, str) or key.startswith("_"):
                continue  # mmengine's own entries (_scope_...) and non-string keys are not edits
            sub = f"{path}.{key}" if path else key
            if key not in recipe:
                out.append(Edit(sub, mine[key], MISSING))
            elif key not in mine:
                out.append(Edit(sub, MISSING, recipe[key]))
            else:
                out += edits(mine[key], recipe[key], sub)
        return out
    if isinstance(mine, (list, tuple)) and isinstance(recipe, (list, tuple)) and len(mine) == len(recipe) \
            and any(is_mapping(v) or isinstance(v, (list, tuple)) for v in mine):
        out = []
        for i, (a, b) in enumerate(zip(mine, recipe)):
            out += edits(a, b, f"{path}.{i}")
        return out
    return [] if _same(mine, recipe) else [Edit(path, mine, recipe)]


def reverted(cfg, chosen: list[Edit]):
    """A deep copy of ``cfg`` with each chosen edit put back as the recipe has it."""
    out = copy.deepcopy(cfg)
    for e in chosen:
        *parents, last = e.key_path.split(".")
        node = out
        for part in parents:
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        key = int(last) if isinstance(node, (list, tuple)) else last
        if e.recipe is MISSING:
            if is_mapping(node):
                node.pop(key, None)
        else:
            node[key] = copy.deepcopy(e.recipe)
    return out


class Blame:
    """The ``crash_blame`` fact: per failing pass, the edits that explain it (computed on request)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._found: dict[str, list[Edit] | None] = {}
        self.trials = 0
        self.reason: dict[str, str] = {}
        self.recipe: list[Path] = []

    def for_pass(self, name: str) -> list[Edit] | None:
        """The smallest set of edits whose return to the recipe makes pass ``name`` (build,
        predict, loss, step) succeed; None when no such set was found."""
        if name not in self._found:
            self._found[name] = self._search(name)
        return self._found[name]

    # ------------------------------------------------------------------ the search
    def _search(self, name: str) -> list[Edit] | None:
        ctx = self.ctx
        if name not in ctx.errors:
            self.reason[name] = "the pass did not fail"
            return None
        files = self.recipe = recipe_files(ctx.config_path)
        if not files or name not in PASS_FACT:
            self.reason[name] = "the config inherits no installed recipe to compare with"
            return None
        try:
            recipe = load_recipe(files)
        except Exception as exc:  # noqa: BLE001 - an unloadable recipe explains nothing
            self.reason[name] = f"the recipe did not load: {type(exc).__name__}"
            return None
        found = edits(ctx.cfg, recipe)
        if name == "build":
            found = [e for e in found if e.key_path.split(".")[0] in BUILD_KEYS]
        if not found:
            self.reason[name] = "the config makes no edit to its recipe that this pass reads"
            return None
        return self.search(name, found)

    def search(self, name: str, found: list[Edit]) -> list[Edit] | None:
        """The smallest subset of ``found`` whose return makes the pass succeed (None: none found)."""
        self._deadline = time.monotonic() + BUDGET_S
        try:
            if not self._passes(name, found):
                self.reason[name] = "the recipe's own values fail this pass too"
                return None
            chosen = self._minimal(name, found, [])
        except _OutOfBudget:
            self.reason[name] = f"the search ran out of its budget ({MAX_TRIALS} passes, {BUDGET_S:.0f} s)"
            return None
        if len(chosen) > MAX_BLAMED:
            self.reason[name] = f"{len(chosen)} edits are needed together; none stands out"
            return None
        return chosen

    def _minimal(self, name: str, group: list[Edit], kept: list[Edit]) -> list[Edit]:
        """A small subset of ``group`` that, put back with ``kept``, makes the pass succeed
        (the whole group does)."""
        if len(group) == 1:
            return group
        half = len(group) // 2
        first, second = group[:half], group[half:]
        if self._passes(name, kept + first):
            return self._minimal(name, first, kept)
        if self._passes(name, kept + second):
            return self._minimal(name, second, kept)
        a = self._minimal(name, first, kept + second)
        return a + self._minimal(name, second, kept + a)

    def _passes(self, name: str, chosen: list[Edit]) -> bool:
        if self.trials >= MAX_TRIALS or time.monotonic() > self._deadline or self.ctx.cancelled:
            raise _OutOfBudget
        self.trials += 1
        trial = type(self.ctx)(reverted(self.ctx.cfg, chosen), self.ctx.options, base_dir=self.ctx.base_dir,
                             tune_allocator=False)
        try:
            getattr(trial, PASS_FACT[name])
            return True
        except FactUnavailable:
            return False
        except Exception:  # noqa: BLE001 - a copy the pass cannot even start on does not pass
            return False
        finally:
            trial.release()


class _OutOfBudget(Exception):
    pass


def crash_blame(ctx) -> Blame:
    return Blame(ctx)

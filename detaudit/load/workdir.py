"""Reading what mmengine's Runner wrote into a work dir, as data (no torch, no config code).

A work dir holds one folder per launch, named by its start time (``20240101_120000/``), each
with the text log (``<ts>.log``), the scalars the visualizer logged
(``vis_data/scalars.json``, one JSON object per line; the LoggerHook's own json log
``vis_data/<ts>.json`` has the same lines) and the config as it ran (``vis_data/config.py``);
the checkpoints (``epoch_N.pth``, ``iter_N.pth``, or the name ``filename_tmpl`` gives), the
``last_checkpoint`` file naming the newest one, and the config dumped again at the top. A
resumed training is a second launch folder continuing the iteration count: the records of all
launches are merged by iteration, the later launch winning.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

LAUNCH_RE = re.compile(r"^\d{8}_\d{6}$")
NUMBERED_RE = re.compile(r"^(epoch|iter)_(\d+)\.pth$")
# "Epoch(train) [1][ 2/50]": the second bracket gives the epoch's length in iterations
EPOCH_PROGRESS_RE = re.compile(r"Epoch\(train\)\s*\[\s*\d+\s*\]\s*\[\s*\d+\s*/\s*(\d+)\s*\]")


class WorkDirError(Exception):
    """The path is not a work dir mmengine wrote; the message says what was looked for."""


@dataclass
class Launch:
    """One launch of training inside the work dir."""

    path: Path
    scalars: Path | None     # vis_data/scalars.json, else the json log
    text_log: Path | None
    config: Path | None      # vis_data/config.py


@dataclass
class WorkDir:
    path: Path
    launches: list[Launch]                       # oldest first
    checkpoints: list[Path] = field(default_factory=list)  # in training order (see _order)
    last_checkpoint: Path | None = None
    dumped_configs: list[Path] = field(default_factory=list)  # <work_dir>/*.py

    @property
    def config(self) -> Path | None:
        """The config of the newest launch as it ran, else the one dumped at the top."""
        for launch in reversed(self.launches):
            if launch.config is not None:
                return launch.config
        return self.dumped_configs[0] if len(self.dumped_configs) == 1 else None

    @property
    def first_checkpoint(self) -> Path | None:
        return self.checkpoints[0] if self.checkpoints else None


def find_work_dir(path: str | Path) -> WorkDir:
    """The work dir at ``path``; a launch folder inside one is accepted too (then only that
    launch's logs are read, with the work dir's checkpoints)."""
    root = Path(path)
    if not root.exists():
        raise WorkDirError(f"work dir not found: {path}")
    if not root.is_dir():
        raise WorkDirError(f"{path} is a file; give the work dir (the folder training wrote its logs and "
                           "checkpoints into)")
    if LAUNCH_RE.match(root.name) and (root / "vis_data").is_dir():
        launches = [_launch(root)]
        root = root.parent
    else:
        launches = [_launch(p) for p in sorted(root.iterdir()) if p.is_dir() and LAUNCH_RE.match(p.name)]
    wd = WorkDir(root, launches, dumped_configs=sorted(root.glob("*.py")))
    wd.checkpoints = _order(root)
    wd.last_checkpoint = _last(root, wd.checkpoints)
    if not any(launch.scalars for launch in wd.launches) and not wd.checkpoints:
        raise WorkDirError(f"no training run found in {path}: expected launch folders like "
                           "20240101_120000/vis_data/scalars.json, or checkpoints (*.pth)")
    return wd


def _launch(path: Path) -> Launch:
    vis = path / "vis_data"
    scalars = vis / "scalars.json"
    if not scalars.is_file():
        json_log = vis / f"{path.name}.json"
        scalars = json_log if json_log.is_file() else None
    text = path / f"{path.name}.log"
    config = vis / "config.py"
    return Launch(path, scalars, text if text.is_file() else None, config if config.is_file() else None)


def _order(root: Path) -> list[Path]:
    """Numbered checkpoints by their number (epochs before iterations is irrelevant: a run
    writes one kind), then the others by modification time; ``best_*`` ones left out (they are
    not the state training ended in)."""
    numbered, other = [], []
    for p in root.glob("*.pth"):
        m = NUMBERED_RE.match(p.name)
        if m:
            numbered.append((int(m.group(2)), p))
        elif not p.name.startswith("best_"):
            other.append((p.stat().st_mtime, p))
    return [p for _, p in sorted(numbered)] + [p for _, p in sorted(other)]


def _last(root: Path, ordered: list[Path]) -> Path | None:
    """The checkpoint ``last_checkpoint`` names (by its file name when the path it holds was
    written on another machine), else the last in training order."""
    marker = root / "last_checkpoint"
    if marker.is_file():
        named = Path(marker.read_text(errors="replace").strip())
        for candidate in (named, root / named.name):
            if candidate.is_file():
                return candidate
    return ordered[-1] if ordered else None


# ---------------------------------------------------------------------- records
@dataclass
class Records:
    """The training records of every launch, one per logged iteration, in iteration order."""

    rows: list[dict]
    files: list[Path]
    unreadable_lines: int = 0


def training_records(wd: WorkDir) -> Records:
    """Lines of the scalar logs that describe a training iteration (an ``iter`` and a loss or
    the lr), merged by iteration across launches; unreadable lines (a run writing its last
    one) are counted and skipped."""
    by_iter: dict[int, dict] = {}
    files, bad = [], 0
    for launch in wd.launches:
        if launch.scalars is None:
            continue
        files.append(launch.scalars)
        for line in launch.scalars.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if not isinstance(row, dict) or not _is_training_row(row):
                continue
            by_iter[int(row["iter"])] = row
    return Records([by_iter[k] for k in sorted(by_iter)], files, bad)


def _is_training_row(row: dict) -> bool:
    it = row.get("iter")
    if not isinstance(it, int) or isinstance(it, bool):
        return False
    return any("loss" in k or k == "lr" for k in row)


def numbers(row: dict) -> dict[str, float]:
    """The numeric values of a record (JSON has no NaN or Infinity: mmengine writes them as
    the bare words Python's json reads back as floats, or as strings in some versions)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[k] = float(v)
        elif isinstance(v, str) and v.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
            out[k] = float(v.strip().lower().replace("infinity", "inf"))
    return out


def epoch_length(wd: WorkDir, rows: list[dict]) -> int | None:
    """Iterations per training epoch: from the text log's ``Epoch(train) [e][i/N]``, else the
    one length that places every record's iteration in its logged epoch, else None."""
    for launch in reversed(wd.launches):
        if launch.text_log is None:
            continue
        with open(launch.text_log, errors="replace") as fh:
            for line in fh:
                m = EPOCH_PROGRESS_RE.search(line)
                if m:
                    return int(m.group(1))
    lo, hi = 1, None
    for row in rows:
        e, i = row.get("epoch"), row.get("iter")
        if not isinstance(e, int) or not isinstance(i, int) or e < 1:
            return None
        lo = max(lo, math.ceil(i / e))          # i <= e * L
        if e > 1:
            bound = (i - 1) // (e - 1)          # i > (e - 1) * L
            hi = bound if hi is None else min(hi, bound)
    return lo if hi is not None and lo == hi else None

"""``--shard I/N``: a deterministic share of the configs for one job of a CI matrix (GitHub Actions
matrix, GitLab ``parallel``, Slurm arrays, Kubernetes indexed jobs).

Every job expands the same config arguments, so every job sees the same list. The list is keyed
by each config's path relative to the working directory (POSIX separators), which is the same on
every machine that checks the repository out at any place. The split is over the configs sorted by
that key:

- without durations, round-robin: the k-th config of the sorted list goes to shard ``k % N + 1``;
- with ``--durations REPORT.json`` (an earlier report's ``timings_s``), greedy
  longest-processing-time: configs from the slowest down, ties by key, each to the shard with the
  least total so far (the lowest shard number on a tie). A config the earlier report does not know
  counts as the median known duration.

Each shard audits its configs in the order of the full list, and records the position of each in
that list (the report's ``shard`` block), so ``detaudit merge`` can put the union back in the
order of a single run.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from statistics import median


class ShardError(ValueError):
    """A ``--shard`` or ``--durations`` that cannot be used; the message is one line."""


def parse_shard(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); shards are numbered from 1, as CI matrices and Slurm arrays count them
    (``0/N`` is refused rather than guessed)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise ShardError(f"expected --shard I/N (e.g. 2/3), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or count > 10000:
        raise ShardError(f"--shard {text}: the number of shards must be between 1 and 10000")
    if not 1 <= index <= count:
        raise ShardError(f"--shard {text}: the shard number must be between 1 and {count} (shards count from 1)")
    return index, count


def config_key(path: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """A config's key for sharding and for matching durations: its path relative to ``cwd``,
    with POSIX separators."""
    base = Path(cwd or os.getcwd()).resolve()
    absolute = Path(base, path).resolve()
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # another drive
        rel = str(absolute)
    rel = rel.replace(os.sep, "/")
    return rel[2:] if rel.startswith("./") else rel


def load_durations(path: str | os.PathLike) -> dict[str, float]:
    """Seconds per config from an earlier report: ``audits[].config`` and ``timings_s`` (its
    ``total``, else the sum of its steps). Reads detaudit's JSON report and the zoo reports."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ShardError(f"--durations {path}: cannot read it ({exc.strerror or exc})")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ShardError(f"--durations {path}: not a JSON report ({exc})")
    audits = data.get("audits") if isinstance(data, dict) else None
    if not isinstance(audits, list):
        raise ShardError(f"--durations {path}: not a detaudit report (no 'audits' list)")
    out: dict[str, float] = {}
    for audit in audits:
        if not isinstance(audit, dict) or not isinstance(audit.get("config"), str):
            continue
        timings = audit.get("timings_s") or {}
        if not isinstance(timings, dict):
            continue
        steps = [v for v in timings.values() if isinstance(v, (int, float))]
        if not steps:
            continue
        seconds = timings.get("total")
        if not isinstance(seconds, (int, float)):
            seconds = sum(steps)
        key = audit["config"].replace("\\", "/")
        out[key[2:] if key.startswith("./") else key] = max(0.0, float(seconds))
    if not out:
        raise ShardError(f"--durations {path}: the report has no audit with timings")
    return out


def match_durations(keys: list[str], durations: dict[str, float]) -> list[float | None]:
    """Each key's duration: the entry of the same path, else the entry whose path is the longest
    common tail of it (an earlier report written from another folder, like the zoo reports,
    which name configs relative to the zoo), else None."""
    out = []
    for key in keys:
        parts = key.split("/")
        found = None
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            if tail in durations:
                found = durations[tail]
                break
        if found is None:
            found = _longer_entry(key, durations)
        out.append(found)
    return out


def _longer_entry(key: str, durations: dict[str, float]) -> float | None:
    """An entry whose path ends with ``key`` (the earlier run named configs from a folder above)."""
    suffix = "/" + key
    hits = [v for k, v in durations.items() if k.endswith(suffix)]
    return hits[0] if len(hits) == 1 else None


def split(keys: list[str], count: int, seconds: list[float | None] | None = None) -> list[list[int]]:
    """Positions (indices into ``keys``) of each shard, each list ascending. Round-robin over the
    sorted keys without ``seconds``; longest-processing-time first with them."""
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    shards: list[list[int]] = [[] for _ in range(count)]
    if seconds is None:
        for k, i in enumerate(order):
            shards[k % count].append(i)
        return [sorted(s) for s in shards]
    known = [s for s in seconds if s is not None]
    fill = median(known) if known else 1.0
    cost = [fill if s is None else s for s in seconds]
    rank = {i: r for r, i in enumerate(order)}
    loads = [0.0] * count
    for i in sorted(order, key=lambda i: (-cost[i], rank[i])):
        target = min(range(count), key=lambda s: (loads[s], s))
        shards[target].append(i)
        loads[target] += cost[i]
    return [sorted(s) for s in shards]


def shard_loads(shards: list[list[int]], seconds: list[float]) -> list[float]:
    """The summed seconds of each shard."""
    return [sum(seconds[i] for i in s) for s in shards]


def select(configs: list, index: int, count: int, durations_path: str | None = None,
           cwd: str | os.PathLike | None = None) -> tuple[list[int], dict]:
    """The positions in ``configs`` that shard ``index`` of ``count`` audits, and what the
    report's ``shard`` block says about the split."""
    keys = [config_key(c, cwd) for c in configs]
    seconds = None
    info: dict = {"index": index, "count": count, "configs": len(configs), "balanced_by": "round-robin"}
    if durations_path:
        durations = load_durations(durations_path)
        seconds = match_durations(keys, durations)
        info["balanced_by"] = "durations"
        info["durations_known"] = sum(1 for s in seconds if s is not None)
    positions = split(keys, count, seconds)[index - 1]
    info["positions"] = positions
    if seconds is not None:
        known = [s for s in seconds if s is not None]
        fill = median(known) if known else 1.0
        info["expected_seconds"] = round(sum(fill if seconds[i] is None else seconds[i] for i in positions), 3)
    return positions, info

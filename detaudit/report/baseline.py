"""Baselines: accept the findings a project already has, fail only on new ones.

``detaudit --write-baseline detaudit-baseline.json CONFIG...`` records every current finding;
``detaudit --baseline detaudit-baseline.json CONFIG...`` then drops the findings the file
records. Findings are matched by fingerprint: rule code, config path, key path and module
path, never line numbers, so edits elsewhere in a config keep its entries valid. The config
path is taken relative to the baseline file's folder, so the same file works from any
working directory.

An entry that no longer matches a finding is *stale*: it is printed as a warning (one line per
entry, on stderr) so the file shrinks as findings get fixed; ``--write-baseline`` again drops
it. An entry is judged stale only when its config was audited in this run and its rule ran
(a rule skipped because the model did not build says nothing about its old finding). Stale
entries do not change the exit code.

The file is JSON::

    {"detaudit_baseline": 1, "generated_by": "detaudit 0.1.0",
     "entries": [{"fingerprint": "…", "code": "DA201", "config": "configs/stage2.py",
                  "key_path": "load_from", "module_path": null, "count": 1, "message": "…"}]}
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

FORMAT_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be used; the message is one line naming the file."""


@dataclass
class BaselineOutcome:
    accepted: int = 0
    stale: list[dict] = field(default_factory=list)


def _relative_config(config: str | None, cwd: Path, folder: Path) -> str:
    if not config or config.startswith("<"):
        return config or ""
    absolute = (cwd / config).resolve()
    try:
        return Path(os.path.relpath(absolute, folder.resolve())).as_posix()
    except ValueError:  # another drive
        return absolute.as_posix()


def fingerprint(finding, cwd: Path, folder: Path) -> str:
    """The finding's fingerprint with its config path taken relative to ``folder``."""
    return replace(finding, config=_relative_config(finding.config, cwd, folder)).fingerprint


def entries_for(report, path: str | os.PathLike, cwd: Path | None = None) -> list[dict]:
    cwd = Path(cwd or Path.cwd())
    folder = Path(path).resolve().parent
    by_fp: dict[str, dict] = {}
    for audit in report.audits:
        for f in audit.findings:
            fp = fingerprint(f, cwd, folder)
            entry = by_fp.get(fp)
            if entry is None:
                by_fp[fp] = {"fingerprint": fp, "code": f.code,
                             "config": _relative_config(f.config or audit.config, cwd, folder),
                             "key_path": f.key_path, "module_path": f.module_path, "count": 1,
                             "message": f.message}
            else:
                entry["count"] += 1
    return sorted(by_fp.values(), key=lambda e: (e["config"], e["code"], e["key_path"] or "",
                                                 e["module_path"] or "", e["fingerprint"]))


def write(report, path: str | os.PathLike, cwd: Path | None = None) -> int:
    """Write every finding of ``report`` as the baseline; returns the number of findings."""
    from .._version import __version__
    from ..atomic import write_atomic

    entries = entries_for(report, path, cwd)
    doc = {"detaudit_baseline": FORMAT_VERSION, "generated_by": f"detaudit {__version__}", "entries": entries}
    write_atomic(str(path), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return sum(e["count"] for e in entries)


def load(path: str | os.PathLike) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with --write-baseline {path})")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline file: {exc}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a detaudit baseline (invalid JSON: {exc})")
    if not isinstance(doc, dict) or doc.get("detaudit_baseline") != FORMAT_VERSION \
            or not isinstance(doc.get("entries"), list):
        raise BaselineError(f"{path}: not a detaudit baseline (expected {{\"detaudit_baseline\": "
                            f"{FORMAT_VERSION}, \"entries\": [...]}})")
    for i, e in enumerate(doc["entries"]):
        if not (isinstance(e, dict) and isinstance(e.get("fingerprint"), str) and isinstance(e.get("code"), str)
                and isinstance(e.get("count", 1), int) and e.get("count", 1) >= 1):
            raise BaselineError(f"{path}: entry {i} needs a fingerprint, a code and a count >= 1")
    return doc["entries"]


def apply(report, path: str | os.PathLike, cwd: Path | None = None) -> BaselineOutcome:
    """Remove the findings the baseline accepts from ``report`` (in place) and list stale entries."""
    cwd = Path(cwd or Path.cwd())
    folder = Path(path).resolve().parent
    entries = load(path)
    remaining = Counter()
    for e in entries:
        remaining[e["fingerprint"]] += int(e.get("count", 1))
    outcome = BaselineOutcome()
    audited: dict[str, set[str]] = {}   # config relative to the baseline folder -> codes that ran
    for audit in report.audits:
        audited[_relative_config(audit.config, cwd, folder)] = set(audit.ran)
        kept = []
        for f in audit.findings:
            fp = fingerprint(f, cwd, folder)
            if remaining[fp] > 0:
                remaining[fp] -= 1
                outcome.accepted += 1
            else:
                kept.append(f)
        audit.findings = kept
    for e in entries:
        left = remaining.get(e["fingerprint"], 0)
        if left <= 0:
            continue
        ran = audited.get(e.get("config") or "")
        if ran is None or e["code"] not in ran:
            continue
        outcome.stale.append(dict(e, count=left))
        remaining[e["fingerprint"]] = 0
    return outcome


def describe(entry: dict) -> str:
    where = " ".join(x for x in (entry.get("key_path"), entry.get("module_path") and
                                 f"module {entry['module_path']}") if x)
    times = f" x{entry['count']}" if entry.get("count", 1) > 1 else ""
    return f"{entry['code']}{times} in {entry.get('config') or '?'}" + (f" ({where})" if where else "")

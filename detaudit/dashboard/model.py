"""Read detaudit reports into the dashboard's data: one row per config, its findings in a
compact shape, and a clear message for every file that cannot be read.

Two inputs are understood: the audit report (``--format json``, schema 1.0 to 1.2,
``detaudit/schema/report.schema.json``) and the zoo sweep's own report
(``scripts/zoo_sweep.py``, ``docs/zoo-report*.json``), whose findings carry no name, fix or
fingerprint; the fingerprint is then computed the way :class:`detaudit.findings.Finding` does.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READABLE_SCHEMAS = ("1.0", "1.1", "1.2")
SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}

# The quality gate's columns: a rule's group is the hundreds of its code (DA1xx freezing, ...).
GROUPS = (("load", "DA0"), ("freezing", "DA1"), ("checkpoints", "DA2"), ("optimizer", "DA3"),
          ("forward", "DA4"), ("losses", "DA5"), ("data/classes", "DA6"), ("run", "DA7"),
          ("merge", "DA8"), ("training logs", "DA9"))
OTHER_GROUP = "other"
EVIDENCE_CHARS = 600   # evidence is shown as a short JSON excerpt; whole tensors stay in the report


class ReportError(Exception):
    """A file the dashboard cannot use; the message is one line and names the file."""


def group_of(code: str) -> str:
    for name, prefix in GROUPS:
        if code.startswith(prefix):
            return name
    return OTHER_GROUP


def fingerprint(code: str, config: str, key_path: str | None, module_path: str | None) -> str:
    """The same digest as ``Finding.fingerprint``: code, config, key path and module path, never lines."""
    parts = [code, config or "", key_path or "", module_path or ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass
class Source:
    """One input file: where it came from and what it held (or why it could not be read)."""
    path: str
    kind: str = ""            # "report" (the audit schema) or "zoo" (the sweep's format)
    tool_version: str = ""
    schema_version: str = ""
    tier: str = ""
    configs: int = 0
    modified: float = 0.0     # the file's modification time: a suppression's "first seen" comes from it
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "tool_version": self.tool_version,
                "schema_version": self.schema_version, "tier": self.tier, "configs": self.configs,
                "modified": self.modified, "error": self.error}


@dataclass
class Loaded:
    source: Source
    audits: list[dict] = field(default_factory=list)   # normalized audits (see _audit)


def _text(value, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


def _finite(value) -> bool:
    """A number JSON can carry (a hand-made report may hold NaN, which the page's JSON cannot)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _location(loc) -> tuple[str | None, int | None]:
    if not isinstance(loc, dict):
        return None, None
    line = loc.get("line")
    return (_text(loc.get("file")) or None), (line if isinstance(line, int) else None)


def _evidence(ev) -> str:
    if not ev:
        return ""
    try:
        return _text(json.dumps(ev, default=str, sort_keys=True), EVIDENCE_CHARS)
    except (TypeError, ValueError):
        return ""


def _finding(f: dict, config: str) -> dict:
    if not isinstance(f, dict) or not isinstance(f.get("code"), str):
        raise ValueError("a finding without a code")
    code = f["code"]
    severity = f.get("severity") if f.get("severity") in SEVERITY_RANK else "info"
    key, module = f.get("key_path"), f.get("module_path")
    file, line = _location(f.get("location"))
    fp = f.get("fingerprint") if isinstance(f.get("fingerprint"), str) else fingerprint(code, config, key, module)
    out = {"code": code, "sev": severity, "msg": _text(f.get("message")), "key": key, "mod": module,
           "file": file, "line": line, "fix": f.get("fix") if isinstance(f.get("fix"), str) else None,
           "fp": fp, "group": group_of(code)}
    if f.get("name"):
        out["name"] = _text(f["name"])
    ev = _evidence(f.get("evidence"))
    if ev:
        out["ev"] = ev
    if f.get("triage"):
        out["triage"] = _text(f["triage"])
    return out


def _modules(model) -> dict | None:
    if not isinstance(model, dict) or not isinstance(model.get("modules"), list):
        return None
    mods = [{"path": _text(m.get("path")), "type": _text(m.get("type")), "params": int(m.get("params") or 0),
             "trainable": int(m.get("trainable") or 0), "mode": _text(m.get("mode_after_train")),
             "bn_train": int(m.get("bn_in_train_mode") or 0)}
            for m in model["modules"] if isinstance(m, dict)]
    return {"total": int(model.get("total_params") or 0), "trainable": int(model.get("trainable_params") or 0),
            "modules": mods}


def _run(run) -> dict | None:
    if not isinstance(run, dict):
        return None
    out = {"stages": {str(k): _text(v) for k, v in (run.get("stages") or {}).items()},
           "skipped": {str(k): _text(v) for k, v in (run.get("skipped") or {}).items()},
           "changes": None if not isinstance(run.get("changes"), list) else  # the zoo sweep leaves them out
           [{"key": _text(c.get("key")), "why": _text(c.get("why")),
             **({"value": _text(c.get("value"), 200)} if "value" in c else {})}
            for c in run["changes"] if isinstance(c, dict)]}
    if _finite(run.get("seconds")):
        out["seconds"] = run["seconds"]
    if isinstance(run.get("checkpoints"), list):
        out["checkpoints"] = [_text(c) for c in run["checkpoints"]]
    return out


def _audit(a: dict, source: int) -> dict:
    if not isinstance(a, dict) or not isinstance(a.get("config"), str) or not a["config"]:
        raise ValueError("an audit without a config path")
    config = a["config"]
    if not isinstance(a.get("findings", []), list):
        raise ValueError(f"{config}: findings is not a list")
    findings = [_finding(f, config) for f in a.get("findings", [])]
    suppressed = [_finding(f, config) for f in a.get("suppressed", []) or []]
    timings = {str(k): float(v) for k, v in (a.get("timings_s") or {}).items() if _finite(v)}
    return {"path": config, "folder": config.rsplit("/", 1)[0] if "/" in config else ".",
            "status": _text(a.get("report_status") or a.get("status")), "reason": _text(a.get("reason")),
            "tiers": {str(k): _text(v) for k, v in (a.get("tiers") or {}).items()}, "timings": timings,
            "findings": findings, "suppressed": suppressed, "model": _modules(a.get("model")),
            "run": _run(a.get("run")), "errors": [_text(e) for e in a.get("internal_errors") or []],
            "src": source}


def load(path: str | os.PathLike, index: int = 0) -> Loaded:
    """Read one report. Raises :class:`ReportError` with a one-line message naming the file."""
    name = str(path)
    try:
        raw = Path(path).read_text(encoding="utf-8")
        modified = os.stat(path).st_mtime
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{name}: cannot read: {exc}")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(raw.rstrip()) - 1 else ""
        raise ReportError(f"{name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}")
    if not isinstance(doc, dict) or not isinstance(doc.get("audits"), list):
        raise ReportError(f"{name}: not a detaudit report (no 'audits' list)")
    tool = doc.get("tool") if isinstance(doc.get("tool"), dict) else {}
    if tool.get("name") != "detaudit":
        raise ReportError(f"{name}: not a detaudit report (tool.name is {tool.get('name')!r})")
    settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
    if "schema_version" in doc:
        kind, schema = "report", _text(doc["schema_version"])
        if schema not in READABLE_SCHEMAS:
            raise ReportError(f"{name}: report schema {schema} is not one this dashboard reads "
                              f"({', '.join(READABLE_SCHEMAS)}); render it with the detaudit that wrote it")
    elif "zoo" in doc:
        kind, schema = "zoo", ""
    else:
        raise ReportError(f"{name}: not a detaudit report (no schema_version)")
    source = Source(path=name, kind=kind, tool_version=_text(tool.get("version")), schema_version=schema,
                    tier=_text(settings.get("tier")), configs=len(doc["audits"]), modified=modified)
    try:
        audits = [_audit(a, index) for a in doc["audits"]]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ReportError(f"{name}: malformed audit: {exc}")
    return Loaded(source=source, audits=audits)


def from_dict(doc: dict, name: str = "report") -> Loaded:
    """The current run's report (``Report.to_dict()``), for ``--format html``."""
    settings = doc.get("settings") or {}
    source = Source(path=name, kind="report", tool_version=_text(doc["tool"]["version"]),
                    schema_version=_text(doc.get("schema_version")), tier=_text(settings.get("tier")),
                    configs=len(doc["audits"]))
    return Loaded(source=source, audits=[_audit(a, 0) for a in doc["audits"]])


def baseline_fingerprints(path: str | os.PathLike) -> tuple[dict[str, dict], str]:
    """What a baseline holds, by fingerprint: either a ``--write-baseline`` file or an earlier report.
    Returns ``({fingerprint: finding}, kind)``; raises :class:`ReportError`."""
    name = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{name}: no such file")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{name}: cannot read the baseline: {exc}")
    if isinstance(doc, dict) and "detaudit_baseline" in doc and isinstance(doc.get("entries"), list):
        out = {}
        for e in doc["entries"]:
            if not isinstance(e, dict) or not isinstance(e.get("code"), str):
                continue
            config = _text(e.get("config"))
            fp = fingerprint(e["code"], config, e.get("key_path"), e.get("module_path"))
            out[fp] = {"code": e["code"], "config": config, "key": e.get("key_path"), "mod": e.get("module_path"),
                       "msg": _text(e.get("message")), "sev": ""}
        return out, "baseline"
    loaded = load(path)
    out = {}
    for a in loaded.audits:
        for f in a["findings"]:
            fp = fingerprint(f["code"], a["path"], f["key"], f["mod"])
            out[fp] = {"code": f["code"], "config": a["path"], "key": f["key"], "mod": f["mod"],
                       "msg": f["msg"], "sev": f["sev"]}
    return out, "report"

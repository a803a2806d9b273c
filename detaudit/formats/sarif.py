"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning accepts it.

One run; ``tool.driver`` lists every registered rule (id, name, short and full description,
help text and markdown, help URI, default level), so a result's ``ruleIndex`` is stable.
Each finding is one result with its level, message, one physical location (a path relative to
the repository root and a start line, see ``_ci.py`` for findings outside the repository) and
``partialFingerprints`` built from the finding's fingerprint with the config path taken
relative to the repository root (code + config + key path + module path; no line numbers),
so alerts survive edits that move lines.
"""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "detauditFingerprint/v1"
INFORMATION_URI = "https://detaudit.readthedocs.io"


def _text(*candidates: str | None) -> str:
    """The first non-empty candidate: SARIF consumers reject empty required strings."""
    for c in candidates:
        if c and str(c).strip():
            return str(c).strip()
    return "-"


def _rule_descriptor(r) -> dict:
    sections = r.doc_sections()
    return {
        "id": r.code,
        "name": _text(r.name, r.code),
        "shortDescription": {"text": _text(r.summary, r.name, r.code)},
        "fullDescription": {"text": _text(sections.get("What it does"), r.summary, r.name)},
        "help": {"text": _text(r.doc, r.summary, r.name), "markdown": _text(r.doc, r.summary, r.name)},
        "helpUri": r.url,
        "defaultConfiguration": {"level": LEVELS[r.severity]},
        "properties": {"tags": ["detaudit", f"tier:{r.tier}"], "origin": _text(r.origin, "detaudit")},
    }


def _fallback_descriptor(code: str, name: str | None) -> dict:
    """A finding whose rule is no longer registered still needs a descriptor."""
    return {"id": code, "name": _text(name, code), "shortDescription": {"text": _text(name, code)},
            "fullDescription": {"text": _text(name, code)}, "help": {"text": _text(name, code)},
            "defaultConfiguration": {"level": "warning"}}


def to_sarif(report, *, cwd: Path | None = None, root: Path | None = None) -> dict:
    from .._version import __version__
    from ..registry import all_rules
    from ._ci import ci_findings

    rules = list(all_rules().values())
    descriptors = [_rule_descriptor(r) for r in rules]
    index = {r.code: i for i, r in enumerate(rules)}
    results = []
    for item in ci_findings(report, cwd, root):
        f, where = item.finding, item.where
        if f.code not in index:
            index[f.code] = len(descriptors)
            descriptors.append(_fallback_descriptor(f.code, f.name))
        message = _text(f.message, f.name, f.code)
        if where.note:
            message += f" ({where.note})"
        if f.fix:
            message += f"\nFix: {f.fix}"
        region = {"startLine": where.line}
        if where.column:
            region["startColumn"] = where.column
        properties = {"severity": f.severity, "config": item.config}
        if f.key_path:
            properties["keyPath"] = f.key_path
        if f.module_path:
            properties["modulePath"] = f.module_path
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS.get(f.severity, "warning"),
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": where.uri}, "region": region}}],
            "partialFingerprints": {FINGERPRINT_KEY: item.fingerprint},
            "properties": properties,
        })
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "detaudit", "semanticVersion": __version__, "version": __version__,
                                "informationUri": INFORMATION_URI, "rules": descriptors}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(report, *, color: bool = False) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False, default=str) + "\n"

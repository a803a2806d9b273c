"""``--format junit``: JUnit XML for CI test-report views.

One ``<testsuite>`` per audited config; in it one ``<testcase>`` per rule that ran, with one
``<failure>`` per finding of that rule (``type`` is the severity), one ``<skipped>`` test case
per rule that was skipped (with the reason) and an ``<error>`` for a rule that crashed. Rules
that were not selected do not appear. The suite's properties carry the audit status and the
outcome of each tier.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# Characters XML 1.0 cannot carry, even escaped (ANSI colour codes from a traceback, NULs…).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _classname(config: str) -> str:
    stem = config[:-3] if config.endswith(".py") else config
    return "detaudit." + ".".join(p for p in re.split(r"[\\/]+", stem) if p and p not in (".", ".."))


def _failure_text(f) -> str:
    lines = [f"{f.location or ''}: {f.code} [{f.severity}] {f.message}".lstrip(": ")]
    if f.key_path:
        lines.append(f"key: {f.key_path}")
    if f.module_path:
        lines.append(f"module: {f.module_path}")
    for k, v in (f.evidence or {}).items():
        lines.append(f"evidence {k}: {v}")
    if f.fix:
        lines.append(f"fix: {f.fix}")
    return "\n".join(lines)


def to_element(report) -> ET.Element:
    from ..registry import all_rules

    rules = all_rules()
    root = ET.Element("testsuites", name="detaudit")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for audit in report.audits:
        by_code: dict[str, list] = {}
        for f in audit.findings:
            by_code.setdefault(f.code, []).append(f)
        codes = list(dict.fromkeys(list(audit.ran) + list(by_code)))
        suite_time = float((audit.timings or {}).get("total", 0.0))
        total_time += suite_time
        suite = ET.SubElement(root, "testsuite", name=_clean(audit.config))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="status", value=audit.status)
        for tier, state in (audit.tiers or {}).items():
            ET.SubElement(props, "property", name=f"tier.{tier}", value=str(state))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = _classname(audit.config)
        for code in sorted(codes):
            name = rules[code].name if code in rules else (by_code[code][0].name if code in by_code else "")
            case = ET.SubElement(suite, "testcase", name=f"{code} {name}".strip(), classname=classname,
                                 file=_clean(audit.config), time="0")
            counts["tests"] += 1
            for f in by_code.get(code, []):
                failure = ET.SubElement(case, "failure", type=f.severity,
                                        message=_clean(f"{f.code} {f.message}"))
                failure.text = _clean(_failure_text(f))
            if by_code.get(code):
                counts["failures"] += 1
        for s in audit.skipped:
            code, reason = s.get("code", "?"), s.get("reason", "")
            name = rules[code].name if code in rules else ""
            case = ET.SubElement(suite, "testcase", name=f"{code} {name}".strip(), classname=classname,
                                 file=_clean(audit.config), time="0")
            counts["tests"] += 1
            if str(reason).startswith("rule crashed"):
                ET.SubElement(case, "error", message=_clean(reason), type="internal")
                counts["errors"] += 1
            else:
                ET.SubElement(case, "skipped", message=_clean(reason))
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{suite_time:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    return root


def render(report, *, color: bool = False) -> str:
    root = to_element(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

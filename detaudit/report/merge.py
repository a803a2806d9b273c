"""``detaudit merge``: the JSON reports of the shards of one run (``--shard I/N``) joined into the
report a single run over all their configs gives: the same audits in the same order (each shard
says where its configs stand in the whole list), the same settings and summary, and through the
ordinary formats the same SARIF, JUnit, GitLab... output.

Reports without a ``shard`` block (plain runs over disjoint configs) are joined in the order of the
files given. Every report is checked before anything is written: a file that is not a detaudit
report, a schema version this detaudit cannot read, settings that differ from the first report's,
a shard given twice or missing, and a config audited twice are errors that name the file.
"""
from __future__ import annotations

import json
import os

from ..findings import Finding, Location
from ..settings import Settings
from .report import SCHEMA_VERSION, Report
from .result import AuditResult

READABLE_VERSIONS = ("1.0", "1.1", SCHEMA_VERSION)


class MergeError(ValueError):
    """The reports cannot be merged; the message is one line that names the file."""


def load(path: str | os.PathLike) -> tuple[Report, dict]:
    """A JSON report as a Report (with its ``shard`` block, if any) and its raw data."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise MergeError(f"{path}: cannot read it ({exc.strerror or exc})")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MergeError(f"{path}: not a JSON file ({exc})")
    if not isinstance(data, dict) or "audits" not in data or "schema_version" not in data:
        raise MergeError(f"{path}: not a detaudit JSON report (write shard reports with --format json:PATH)")
    version = str(data.get("schema_version"))
    if version not in READABLE_VERSIONS:
        raise MergeError(f"{path}: report schema version {version} cannot be merged by this detaudit "
                         f"(it reads {', '.join(READABLE_VERSIONS)}); merge with the version that wrote it")
    try:
        settings = _settings(data["settings"])
        extra = (data.get("shard") or {}).get("audits") or []
        audits = [_audit(a, extra[i] if i < len(extra) else {}) for i, a in enumerate(data["audits"])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MergeError(f"{path}: malformed report ({type(exc).__name__}: {exc})")
    return Report(audits=audits, settings=settings, shard=data.get("shard")), data


def _settings(data: dict) -> Settings:
    return Settings(select=list(data["select"]), ignore=list(data["ignore"]), fail_on=data["fail_on"],
                    tier=data["tier"], expect_frozen=list(data["expect_frozen"]))


def _finding(f: dict, config: str) -> Finding:
    loc = f.get("location")
    return Finding(code=f["code"], name=f["name"], severity=f["severity"], message=f["message"],
                   key_path=f.get("key_path"), module_path=f.get("module_path"),
                   location=Location(loc["file"], loc.get("line"), loc.get("column")) if loc else None,
                   evidence=f.get("evidence") or {}, fix=f.get("fix"), url=f.get("url"), config=config,
                   autofix=f.get("fixable"))


def _audit(data: dict, extra: dict) -> AuditResult:
    config = data["config"]
    findings = [_finding(f, config) for f in data["findings"]]
    return AuditResult(config=config, findings=findings, skipped=list(data["skipped_rules"]),
                       suppressed=[_finding(f, config) for f in data.get("suppressed") or []],
                       base_line=data.get("base_line"),
                       ran=list(extra.get("rules_ran") or []), tiers=dict(data["tiers"]), status=data["status"],
                       model=data.get("model"), optimizer=data.get("optimizer"), losses=data.get("losses"),
                       run=data.get("run"), timings=dict(data.get("timings_s") or {}),
                       internal_errors=list(extra.get("internal_errors") or []), cached=bool(data.get("cached")))


def merge(paths: list[str]) -> Report:
    """The reports at ``paths`` as one report (see the module's description)."""
    if not paths:
        raise MergeError("no report to merge")
    loaded = [(str(p), *load(p)) for p in paths]
    first_path, first, first_data = loaded[0]
    for path, report, data in loaded[1:]:
        if report.settings.to_dict() != first.settings.to_dict():
            raise MergeError(f"{path}: its settings {report.settings.to_dict()} differ from those of {first_path} "
                             f"{first.settings.to_dict()}: the reports are not shards of one run")
    sharded = [path for path, report, _ in loaded if report.shard is not None]
    if sharded and len(sharded) != len(loaded):
        plain = next(path for path, report, _ in loaded if report.shard is None)
        raise MergeError(f"{plain}: not a shard report (no 'shard' block) while {sharded[0]} is one; "
                         f"merge the reports of one --shard run")
    audits = _ordered_shards(loaded) if sharded else _concatenated(loaded)
    return Report(audits=audits, settings=first.settings)


def _ordered_shards(loaded: list) -> list:
    count = loaded[0][1].shard.get("count")
    total = loaded[0][1].shard.get("configs")
    seen: dict[int, str] = {}
    placed: dict[int, AuditResult] = {}
    for path, report, _ in loaded:
        shard = report.shard
        if shard.get("count") != count or shard.get("configs") != total:
            raise MergeError(f"{path}: shard {shard.get('index')}/{shard.get('count')} of {shard.get('configs')} "
                             f"config(s) does not belong with {loaded[0][0]} (shards of {count}, "
                             f"{total} config(s))")
        index = shard.get("index")
        if index in seen:
            raise MergeError(f"{path}: shard {index}/{count} is given twice (also {seen[index]})")
        seen[index] = path
        positions = shard.get("positions") or []
        if len(positions) != len(report.audits):
            raise MergeError(f"{path}: its shard block lists {len(positions)} position(s) for "
                             f"{len(report.audits)} audit(s)")
        for position, audit in zip(positions, report.audits):
            if not isinstance(position, int) or not 0 <= position < total:
                raise MergeError(f"{path}: position {position!r} is outside the run's {total} config(s)")
            if position in placed:
                raise MergeError(f"{path}: config {audit.config} (position {position}) is also in another shard")
            placed[position] = audit
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise MergeError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing: the merged report "
                         f"would lack their configs (given: {', '.join(sorted(seen.values()))})")
    if len(placed) != total:
        raise MergeError(f"the shards hold {len(placed)} of the run's {total} config(s)")
    return [placed[i] for i in range(total)]


def _concatenated(loaded: list) -> list:
    out: list = []
    where: dict[str, str] = {}
    for path, report, _ in loaded:
        for audit in report.audits:
            if audit.config in where:
                raise MergeError(f"{path}: config {audit.config} was audited in {where[audit.config]} too")
            where[audit.config] = path
            out.append(audit)
    return out


def shard_block(info: dict, audits: list) -> dict:
    """The report's ``shard`` block: the split (workers/shard.py) and, per audit, what the other
    formats read besides the JSON report (the rules that ran, internal errors)."""
    block = dict(info)
    block["audits"] = [{"rules_ran": list(a.ran), "internal_errors": list(a.internal_errors)} for a in audits]
    return block

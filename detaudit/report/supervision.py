"""The findings the audit's supervisor makes (DA091 timeout, DA092 memory, DA093 crash): not
read from facts by a rule, but from how the audit itself went. The rules of those codes are
declarations only; selecting or ignoring them decides whether these findings are kept."""
from __future__ import annotations

from ..errors import AuditTimeout, is_memory_error
from ..findings import Finding, Location
from ..rule import Violation
from ..rule.facts import CONFIG_TIERS
from .result import AuditResult, to_finding

TIMEOUT_CODE, MEMORY_CODE, CRASH_CODE = "DA091", "DA092", "DA093"
MEMORY_FIX = "lower --input-size, audit at a shallower --tier, or raise --max-memory"


def format_size(n: int | float) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


_PHASES = {"load": "loading the config", "build": "building the model", "checkpoint": "reading the checkpoint",
           "optimizer": "building the optimizer", "predict": "running predict", "loss": "running the loss forward",
           "step": "running the training step", "run": "running the Runner (--tier run)"}


def add_supervision_findings(ctx, result, rules, severity_overrides: dict, max_memory: int | None = None) -> None:
    """After an audit: a memory failure inside any step becomes DA092 (naming the limit), and an
    audit stopped by --timeout becomes DA091 (naming the step it was in)."""
    selected = {r.code: r for r in rules}
    if MEMORY_CODE in selected:
        for key, info in ctx.errors.items():
            if not is_memory_error(info):
                continue
            limit = (f"the --max-memory limit of {format_size(max_memory)}" if max_memory
                     else "the memory available (no --max-memory limit was set)")
            size = info.extra.get("input_size")
            at = f" at {'x'.join(map(str, size))} px" if size else ""
            first = info.extra.get("first_error")
            after = (f", after {first['error']} at {'x'.join(map(str, first['input_size']))} px" if first else "")
            evidence = {"phase": key, "limit_bytes": max_memory, "exception": info.type, "detail": info.message[:500]}
            if size:
                evidence.update(input_size=size, sizes_tried=info.extra.get("sizes_tried", []))
            if first:
                evidence["first_error"] = first
            result.findings.append(to_finding(ctx, selected[MEMORY_CODE], Violation(
                message=f"ran out of memory while {_PHASES.get(key, key)}{at}{after}: the audit exceeded "
                        f"{limit} ({info.short()})",
                evidence=evidence,
                fix=MEMORY_FIX,
                file=ctx.display_path), severity_overrides))
            break
    interruption = ctx.interruption
    if interruption and TIMEOUT_CODE in selected:
        phase = next((_PHASES.get(k, k) for k, v in ctx.errors.items() if v.type == AuditTimeout.__name__),
                     "running the rules")
        message, evidence = timeout_message(interruption, phase)
        result.findings.append(to_finding(ctx, selected[TIMEOUT_CODE], Violation(
            message=message + "; findings from the steps before are kept",
            evidence=evidence, key_path=interruption.get("key"),
            fix="look for a loop or a blocking call in the config's code or custom modules, or raise --timeout",
            file=None if interruption.get("key") else ctx.display_path), severity_overrides))
        if result.status == "completed":
            result.status = "partial"


def timeout_message(interruption: dict, phase: str) -> tuple[str, dict]:
    """DA091's message and evidence for an audit stopped at its time bound, naming the step and,
    when the stack told, the component (its config key) and the code it was in."""
    from ..errors import is_environment_code

    timeout = interruption.get("timeout")
    bound = interruption.get("bound") or (f"--timeout {timeout:g} s" if timeout else "its time bound")
    frames = [tuple(f) for f in interruption.get("frames") or []]
    site = next((f for f in frames if not is_environment_code("", f[0])), frames[0] if frames else None)
    detail = interruption.get("detail") or {}
    where = ""
    if interruption.get("key"):
        named = detail.get("hook") or detail.get("transform") or detail.get("module") or detail.get("object") \
            or detail.get("metric")
        where = f" in {interruption['key']}" + (f" ({named})" if named else "")
    if detail.get("stage") or interruption.get("stage"):
        where += f" at {detail.get('stage') or interruption.get('stage')}"
    if site:
        where += f", in {site[2]} ({_short(site[0])}:{site[1]})"
    evidence = {"timeout_s": timeout, "phase": phase, "stopped": "where the audit ran"}
    for name in ("key", "component", "stage"):
        if interruption.get(name):
            evidence[name] = interruption[name]
    if frames:
        evidence["stack"] = [f"{_short(f[0])}:{f[1]} in {f[2]}" for f in frames[:8]]
    return f"the audit did not finish within {bound}: stopped while {phase}{where}", evidence


def _short(path: str) -> str:
    from .blocking import _short as short

    return short(path)


def failure_result(config: str, settings, code: str, message: str, evidence: dict, fix: str) -> AuditResult:
    """The result of a config (``config`` as reports show it) whose worker was killed or died:
    one supervisor finding, every selected rule skipped with the reason."""
    from ..registry import all_rules, select_rules

    display = config
    selected = select_rules(settings.select, settings.ignore, settings.extend_select)
    result = AuditResult(config=display, status="failed")
    result.tiers = {t: ("failed" if t == "static" else "skipped") for t in CONFIG_TIERS}
    reason = f"the audit did not finish ({message.split(':')[0]})"
    result.skipped = [{"code": r.code, "reason": reason} for r in selected if r.code != code]
    if any(r.code == code for r in selected):
        r = all_rules()[code]
        result.ran.append(code)
        result.findings.append(Finding(
            code=code, name=r.name, severity=settings.severity.get(code) or r.severity, message=message,
            location=Location(display, None, None), evidence=evidence, fix=fix,
            url=r.url, config=display))
    return result


def memory_message(limit: int | None, rss: int | None) -> str:
    where = f" (resident memory reached {format_size(rss)})" if rss else ""
    if limit:
        return f"the audit exceeded the --max-memory limit of {format_size(limit)} and was stopped{where}"
    return f"the audit ran out of memory{where}"

"""``--format text``: findings with their evidence, the module table, a summary line."""
from __future__ import annotations

COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
RESET, BOLD, DIM = "\033[0m", "\033[1m", "\033[2m"


_FIX_MARKS = {"safe": " [*]", "unsafe": " [-]", "display-only": ""}


def fix_summary(report) -> list[str]:
    """``[*] N fixable with --fix`` and ``N more fixes with --unsafe-fixes``, as ruff says them."""
    kinds = [(f.autofix or {}).get("applicability") for a in report.audits for f in a.findings
             if getattr(f, "autofix", None)]
    safe, unsafe = kinds.count("safe"), kinds.count("unsafe")
    lines = []
    if safe:
        lines.append(f"[*] {safe} fixable with --fix.")
    if unsafe:
        lines.append(f"[-] {unsafe} more fix{'es' if unsafe != 1 else ''} with --unsafe-fixes.")
    return lines


def _m(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 10_000 else f"{n:,}"


def render(report, *, color: bool = False) -> str:
    def paint(text, code):
        return f"{code}{text}{RESET}" if color else text

    out: list[str] = []
    for a in report.audits:
        out.append(paint(f"== {a.config} ({a.status}{', cached' if getattr(a, 'cached', False) else ''})", BOLD))
        for f in a.findings:
            where = str(f.location) if f.location else a.config
            sev = paint(f"[{f.severity}]", COLORS[f.severity])
            mark = _FIX_MARKS.get((getattr(f, "autofix", None) or {}).get("applicability"), "")
            out.append(f"{where}: {paint(f.code, BOLD)} {sev} {f.message}{mark}")  # [*]/[-] last: fixable
            details = []
            if f.key_path:
                details.append(f"key: {f.key_path}")
            if f.module_path:
                details.append(f"module: {f.module_path}")
            if details:
                out.append("    " + paint("  ".join(details), DIM))
            if f.evidence:
                ev = ", ".join(f"{k}={_short(v)}" for k, v in f.evidence.items())
                out.append("    " + paint(f"evidence: {ev}", DIM))
            if f.fix:
                out.append(f"    fix: {f.fix}")
            if getattr(f, "autofix", None):
                out.append(f"    {f.autofix['applicability']} fix: {f.autofix['description']}")
        if not a.findings:
            out.append("no findings")
        if a.model:
            out.append("")
            out.append(_model_table(a.model))
        if a.losses:
            out.append("losses: " + ", ".join(f"{k}={v:.4g}" if v is not None else f"{k}=non-finite"
                                              for k, v in a.losses.items()))
        if a.skipped:
            reasons: dict[str, list[str]] = {}
            for s in a.skipped:
                reasons.setdefault(s["reason"], []).append(s["code"])
            for reason, codes in reasons.items():
                out.append(paint(f"skipped {', '.join(codes)}: {reason}", DIM))
        out.append("")
    s = report.summary()
    verdict = "FAIL" if not report.ok else "ok"
    out.extend(fix_summary(report))  # before the verdict, which stays the last line
    out.append(f"{verdict}: {s['configs']} config(s), {s['error']} error(s), {s['warning']} warning(s), "
               f"{s['info']} info (fail-on {report.settings.fail_on})")
    return "\n".join(out) + "\n"


def _short(v) -> str:
    text = f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
    return text if len(text) <= 160 else text[:157] + "..."


def _model_table(model: dict) -> str:
    from tabulate import tabulate

    rows = []
    for m in model["modules"]:
        frozen = m["params"] - m["trainable"]
        indent = "  " if "." in m["path"] else ""
        rows.append([indent + m["path"], m["type"], _m(m["params"]), _m(m["trainable"]), _m(frozen),
                     m["mode_after_train"], m["bn_in_train_mode"]])
    total, trainable = model["total_params"], model["trainable_params"]
    rows.append(["total", "", _m(total), _m(trainable), _m(total - trainable), "", ""])
    return tabulate(rows, headers=["module", "type", "params", "trainable", "frozen", "mode", "BN train"],
                    tablefmt="simple", disable_numparse=True)

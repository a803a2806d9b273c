"""Combine loaded reports into the one data object the dashboard's script reads: configs (a
later report's audit of the same config replaces an earlier one), base-file impact, rule
counts with suppressions, and new / fixed / unchanged findings against a baseline."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from .model import GROUPS, OTHER_GROUP, SEVERITY_RANK, Loaded, fingerprint, group_of


def rule_catalog(codes) -> dict[str, dict]:
    """Name, severity, tier and summary of each rule, from the registered packs; codes no pack
    registers any more (an older report) keep only their code."""
    try:
        from ..registry import all_rules

        registered = all_rules()
    except Exception:  # noqa: BLE001 - a broken rule pack must not stop the dashboard
        registered = {}
    out = {}
    for code in sorted(set(codes) | set(registered)):
        r = registered.get(code)
        out[code] = ({"name": r.name, "severity": r.severity, "tier": r.tier, "summary": r.summary.replace("``", ""),
                      "group": group_of(code), "doc": True, "url": r.url}
                     if r is not None else {"name": "", "severity": "", "tier": "", "summary": "",
                                            "group": group_of(code), "doc": False, "url": ""})
    return out


def _is_base(file: str | None, config: str) -> bool:
    return bool(file) and not file.startswith("<") and file != config and not config.endswith("/" + file)


def combine(loaded: list[Loaded], errors: list[str] | None = None,
            baseline: tuple[dict[str, dict], str, str] | None = None) -> dict[str, Any]:
    by_path: dict[str, dict] = {}
    replaced = 0
    for item in loaded:
        for a in item.audits:
            replaced += a["path"] in by_path
            by_path[a["path"]] = a          # the later report wins
    configs = list(by_path.values())
    for i, a in enumerate(configs):
        a["id"] = i
        worst: dict[str, int] = {}
        for f in a["findings"]:
            worst[f["group"]] = max(worst.get(f["group"], 0), SEVERITY_RANK[f["sev"]])
        a["worst"] = worst
    groups = [g for g, _ in GROUPS]
    if any(f["group"] == OTHER_GROUP for a in configs for f in a["findings"]):
        groups.append(OTHER_GROUP)
    sources = [x.source for x in loaded]
    codes = {f["code"] for a in configs for f in a["findings"] + a["suppressed"]}
    return {
        "title": "detaudit dashboard",
        "groups": groups,
        "sources": [s.to_dict() for s in sources],
        "errors": list(errors or []),
        "versions": sorted({s.tool_version for s in sources if s.tool_version}),
        "replaced": replaced,
        "configs": configs,
        "impact": impact(configs),
        "rules": rule_catalog(codes),
        "suppressions": suppressions(configs, sources),
        "diff": diff(configs, baseline) if baseline is not None else None,
    }


def impact(configs: list[dict]) -> list[dict]:
    """Findings grouped by the base file and line that own their value, most configs first."""
    spots: dict[tuple[str, int | None], dict] = {}
    for a in configs:
        for f in a["findings"]:
            if not _is_base(f["file"], a["path"]):
                continue
            spot = spots.setdefault((f["file"], f["line"]), {"file": f["file"], "line": f["line"], "configs": set(),
                                                           "codes": defaultdict(int), "keys": set(), "sev": 0,
                                                           "findings": 0, "fix": None, "msg": f["msg"]})
            spot["configs"].add(a["id"])
            spot["codes"][f["code"]] += 1
            spot["findings"] += 1
            if f["key"]:
                spot["keys"].add(f["key"])
            spot["sev"] = max(spot["sev"], SEVERITY_RANK[f["sev"]])
            spot["fix"] = spot["fix"] or f["fix"]
    out = []
    for s in spots.values():
        out.append({"file": s["file"], "line": s["line"], "configs": sorted(s["configs"]),
                    "codes": dict(sorted(s["codes"].items())), "keys": sorted(s["keys"])[:20],
                    "sev": s["sev"], "findings": s["findings"], "fix": s["fix"], "msg": s["msg"]})
    out.sort(key=lambda s: (-len(s["configs"]), -s["sev"], s["file"], s["line"] or 0))
    return out


def suppressions(configs: list[dict], sources) -> list[dict]:
    """Each suppressed finding once, with the date of the earliest input report that holds it."""
    seen: dict[str, dict] = {}
    for a in configs:
        for f in a["suppressed"]:
            when = sources[a["src"]].modified if a["src"] < len(sources) else 0.0
            entry = seen.get(f["fp"])
            if entry is None:
                seen[f["fp"]] = {"code": f["code"], "config": a["id"], "key": f["key"], "file": f["file"],
                                 "line": f["line"], "msg": f["msg"], "since": when}
            else:
                entry["since"] = min(entry["since"], when)
    return sorted(seen.values(), key=lambda e: (e["code"], e["since"]))


def diff(configs: list[dict], baseline: tuple[dict[str, dict], str, str]) -> dict:
    """New / fixed / unchanged by fingerprint (code, config, key path, module path; never lines)."""
    before, kind, name = baseline
    now: dict[str, tuple[dict, dict]] = {}
    for a in configs:
        for f in a["findings"]:
            now[fingerprint(f["code"], a["path"], f["key"], f["mod"])] = (a, f)
    new = [{"config": a["id"], "code": f["code"], "sev": f["sev"], "key": f["key"], "msg": f["msg"]}
           for fp, (a, f) in now.items() if fp not in before]
    unchanged = [{"config": a["id"], "code": f["code"], "sev": f["sev"], "key": f["key"], "msg": f["msg"]}
                 for fp, (a, f) in now.items() if fp in before]
    audited = {a["path"] for a in configs}
    fixed = [dict(e, audited=e["config"] in audited) for fp, e in before.items() if fp not in now]
    return {"baseline": name, "kind": kind, "new": new, "fixed": fixed, "unchanged": unchanged}


SPLITS = ("train", "val", "test")


def attach_sheets(data: dict[str, Any], folder) -> int:
    """Contact sheets that ``detaudit data --out FOLDER`` drew (``<config stem>_<split>.png``), shown
    on each config's page: every config whose file name has one gets ``sheets`` (split, file in the
    site), and ``data["sheet_files"]`` lists what the site copies. Returns how many were found."""
    from pathlib import Path

    folder = Path(folder)
    files = []
    for c in data["configs"]:
        stem = Path(c["path"]).stem
        c["sheets"] = []
        for split in SPLITS:
            png = folder / f"{stem}_{split}.png"
            if png.is_file():
                name = f"sheets/{c['id']}_{split}.png"
                c["sheets"].append({"split": split, "src": name})
                files.append((str(png), name))
    data["sheet_files"] = files
    return len(files)

"""How many real-mistake fixtures an audit report catches (tests/fixtures/real_mistakes).

    detaudit --tier static --format json -o /tmp/rm.json tests/fixtures/real_mistakes/*.py
    python scripts/real_mistakes_catch.py /tmp/rm.json [--codes DA8,DA003]
    python scripts/real_mistakes_catch.py --manifest tests/fixtures/real_mistakes_heldout/manifest.json \
        /tmp/heldout-static.json /tmp/heldout-train.json /tmp/heldout-run.json

Several reports may be given (one per tier): each fixture is scored on the report of the tier its
manifest entry names (``tier``), else on the last report that audited it. Entries may list
decisive ``terms``: a warning or error finding whose message holds one counts too. Only warning
and error findings count for the new manifests (``--strict``, implied when an entry has ``terms``).
Crash fixtures (``bites: crash``) are also scored for their explanation: *reported* when an error
finding of a crash rule (DA001, DA002, DA4xx, DA7xx) is there, *explained* when a caught finding is one.

A fixture is caught when a finding's key path is at or above the manifest's ``key_path`` (with
``--below``, also inside it: ``param_scheduler.1.end`` names the key to edit when the manifest
says ``param_scheduler``; off by default, so the figures recorded without it stay reproducible), or
its message names the mistaken key (the whole key path, or its last component unless that is a
generic word such as ``type`` or ``pipeline``). ``test_`` and ``val_`` loader and evaluator paths count as the same
key (every fixture sets ``test_dataloader = val_dataloader``). Findings every fixture gets for
this machine (DA205 weights not cached, DA603 paths missing, DA202) never count. Prints one line
per fixture and the total; ``--codes`` restricts the count to findings of those code prefixes.
The manifest's ``caught_static`` pins the static tier's catch (tests/e2e/test_real_mistakes.py).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "fixtures" / "real_mistakes" / "manifest.json"
MACHINE = ("DA205", "DA603", "DA202")
GENERIC = {"type", "pipeline", "data_root", "dataset", "metainfo", "0", "1", "2", "3", "4"}


def _same(path: str) -> str:
    return path.replace("test_dataloader", "val_dataloader").replace("test_evaluator", "val_evaluator")


CRASH_CODES = ("DA001", "DA002", "DA4", "DA7")  # a config that fails to load is a crash too


def caught(entry: dict, findings: list[dict], strict: bool = False, below: bool = False) -> list[dict]:
    key = _same(entry["key_path"])
    last = key.rsplit(".", 1)[-1]
    terms = entry.get("terms", [])
    stem = Path(entry["file"]).stem
    hits = []
    for f in findings:
        if f["code"].startswith(MACHINE):
            continue
        if strict and f.get("severity") not in ("warning", "error"):
            continue
        message = f["message"].replace(stem, "")  # the fixture's own name says what its mistake is
        if any(t in message for t in terms):
            hits.append(f)
            continue
        kp = _same(f.get("key_path") or "")
        if kp and (key == kp or key.startswith(kp + ".")) and not (strict and "." not in kp and key != kp):
            # (strict: a finding on a whole top-level key, "model", is a generic crash, not the key to edit)
            hits.append(f)
        elif below and kp and kp.startswith(key + "."):
            hits.append(f)  # a key inside the one the manifest names
        elif key in _same(message):
            hits.append(f)
        elif last not in GENERIC and last in message:
            hits.append(f)
    return hits


def _reports(paths) -> dict[str, dict[str, list]]:
    """config file name -> {tier: findings} over every report given."""
    out: dict[str, dict[str, list]] = {}
    for path in paths:
        report = json.loads(Path(path).read_text())
        # the tier a report was run at: named in its file name (rm-static.json), else the deepest one that ran
        named = next((t for t in TIER_ORDER if Path(path).stem.endswith(t)), None)
        for audit in report["audits"]:
            tiers = audit.get("tiers") or {}
            ran = [t for t in TIER_ORDER if str(tiers.get(t, "skipped")).split(":")[0] not in ("skipped", "")]
            tier = named or (ran[-1] if ran else "last")
            out.setdefault(Path(audit["config"]).name, {})[tier] = audit["findings"]
            out[Path(audit["config"]).name]["last"] = audit["findings"]
    return out


TIER_ORDER = ("static", "build", "checkpoint", "optimizer", "forward", "train", "run")


def _tier_findings(found: dict[str, list], tier: str | None) -> list:
    order = list(TIER_ORDER)
    if tier in order:
        for t in order[order.index(tier):]:
            if t in found:
                return found[t]
    return found.get("last", [])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", nargs="+")
    p.add_argument("--codes", default="", help="count only findings of these code prefixes (comma-separated)")
    p.add_argument("--manifest", default=str(MANIFEST), help="the manifest to score (default: the real-mistake set)")
    p.add_argument("--strict", action="store_true", help="count warning and error findings only")
    p.add_argument("--below", action="store_true",
                   help="also count a finding at a key inside the manifest's key_path (param_scheduler.1.end "
                        "for param_scheduler)")
    args = p.parse_args(argv)
    prefixes = tuple(c.strip() for c in args.codes.split(",") if c.strip())
    by_file = _reports(args.report)
    manifest = json.loads(Path(args.manifest).read_text())
    total = crashes = reported = explained = 0
    for entry in manifest:
        strict = args.strict or "terms" in entry
        found = _tier_findings(by_file.get(entry["file"], {}), entry.get("tier"))
        findings = [f for f in found if not prefixes or f["code"].startswith(prefixes)]
        hits = caught(entry, findings, strict, args.below)
        total += bool(hits)
        codes = sorted({f["code"] for f in hits})
        note = ""
        if entry.get("bites") == "crash":
            crashes += 1
            crash = [f for f in findings if f["code"].startswith(CRASH_CODES) and f.get("severity") == "error"]
            reported += bool(crash)
            named = [f for f in hits if f["code"].startswith(CRASH_CODES)]
            explained += bool(named)
            note = "crash explained" if named else ("crash reported, not explained" if crash else "crash not reported")
        print(f"{'caught' if hits else 'missed':6}  {entry['file']:55} {entry['category']:16} {','.join(codes):24} {note}")
    print(f"caught {total} of {len(manifest)}")
    if crashes:
        print(f"crashes: {crashes}; reported {reported}; explained (a crash finding naming the key) {explained}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

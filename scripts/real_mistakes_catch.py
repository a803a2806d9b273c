"""How many real-mistake fixtures an audit report catches (tests/fixtures/real_mistakes).

    detaudit --tier static --format json -o /tmp/rm.json tests/fixtures/real_mistakes/*.py
    python scripts/real_mistakes_catch.py /tmp/rm.json [--codes DA8,DA003]

A fixture is caught when a finding's key path is at or above the manifest's ``key_path``, or
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


def caught(entry: dict, findings: list[dict]) -> list[dict]:
    key = _same(entry["key_path"])
    last = key.rsplit(".", 1)[-1]
    hits = []
    for f in findings:
        if f["code"].startswith(MACHINE):
            continue
        kp = _same(f.get("key_path") or "")
        if kp and (key == kp or key.startswith(kp + ".")):
            hits.append(f)
        elif key in _same(f["message"]):
            hits.append(f)
        elif last not in GENERIC and last in f["message"]:
            hits.append(f)
    return hits


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report")
    p.add_argument("--codes", default="", help="count only findings of these code prefixes (comma-separated)")
    args = p.parse_args(argv)
    prefixes = tuple(c.strip() for c in args.codes.split(",") if c.strip())
    report = json.loads(Path(args.report).read_text())
    by_file = {}
    for audit in report["audits"]:
        by_file[Path(audit["config"]).name] = audit["findings"]
    manifest = json.loads(MANIFEST.read_text())
    total = 0
    for entry in manifest:
        findings = [f for f in by_file.get(entry["file"], []) if not prefixes or f["code"].startswith(prefixes)]
        hits = caught(entry, findings)
        total += bool(hits)
        codes = sorted({f["code"] for f in hits})
        print(f"{'caught' if hits else 'missed':6}  {entry['file']:55} {entry['category']:22} {','.join(codes)}")
    print(f"caught {total} of {len(manifest)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The development and held-out real-mistake sets (tests/fixtures/real_mistakes_dev, _heldout):
configs reproducing mistakes from public threads (GitHub issues, pull requests and discussions, and
question-and-answer or blog pages) that the original set does not cite. Each thread
was assigned to one set before any rule was written, by the first hex digit of the SHA-256 of its
URL (0-b held-out, c-f development); the manifests are checked against the files and that rule.
How the audit does on them is measured with scripts/real_mistakes_catch.py (too slow for the suite)."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from audit_helpers import ROOT

SETS = {"dev": ROOT / "tests" / "fixtures" / "real_mistakes_dev",
        "heldout": ROOT / "tests" / "fixtures" / "real_mistakes_heldout"}
ORIGINAL = ROOT / "tests" / "fixtures" / "real_mistakes" / "manifest.json"


def held_out(url: str) -> bool:
    return hashlib.sha256(url.encode()).hexdigest()[0] in "0123456789ab"


@pytest.mark.parametrize("name", list(SETS))
def test_manifest_matches_the_fixtures_and_the_split(name):
    folder = SETS[name]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(e["file"] for e in manifest) == sorted(p.name for p in folder.glob("*.py"))
    original = {e["url"] for e in json.loads(ORIGINAL.read_text())}
    for entry in manifest:
        first = (folder / entry["file"]).read_text().split("\n", 1)[0]
        assert re.findall(r"https://\S+", first) == [entry["url"]]
        if "github.com" in entry["url"]:  # GitHub threads are cited by their canonical address
            assert re.fullmatch(r"https://github\.com/[^/\s]+/[^/\s]+/(?:issues|pull|discussions)/\d+", entry["url"])
        assert entry["url"] not in original, f"{entry['file']}: the original set already cites {entry['url']}"
        assert held_out(entry["url"]) == (name == "heldout"), f"{entry['file']} is in the wrong set"
        assert entry["key_path"] and entry["bites"] in ("crash", "silent")
        assert entry["tier"] in ("static", "train", "run") and isinstance(entry["terms"], list)


def test_sets_are_disjoint_and_large_enough():
    urls = {name: {e["url"] for e in json.loads((f / "manifest.json").read_text())} for name, f in SETS.items()}
    assert not urls["dev"] & urls["heldout"]
    assert len(urls["heldout"]) >= 30

"""The transplanted set (tests/fixtures/transplanted): each file writes the mistake of one real-mistake
fixture again on a different architecture or base config, so that a rule is measured on the family of
the mistake rather than on the one case it was written from. The manifest is checked against the files
and against the original fixtures it names; nothing is audited here."""
from __future__ import annotations

import json
import re

from audit_helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
FOLDER = FIXTURES / "transplanted"
ORIGINAL_SETS = ("real_mistakes", "real_mistakes_heldout", "real_mistakes_dev")
FIELDS = {"file", "source", "url", "mistake", "bites", "key_path", "terms", "category", "tier"}


def _manifest() -> list[dict]:
    return json.loads((FOLDER / "manifest.json").read_text())


def _originals() -> dict[str, dict]:
    found = {}
    for name in ORIGINAL_SETS:
        for entry in json.loads((FIXTURES / name / "manifest.json").read_text()):
            found[f"{name}/{entry['file']}"] = entry
    return found


def test_manifest_lists_every_file_once_sorted_and_formatted():
    text = (FOLDER / "manifest.json").read_text()
    manifest = json.loads(text)
    files = [e["file"] for e in manifest]
    assert len(files) == len(set(files)), "two entries name the same file"
    assert files == sorted(files)
    assert sorted(files) == sorted(p.name for p in FOLDER.glob("*.py"))
    assert text == json.dumps(manifest, indent=2) + "\n"


def test_entries_are_well_formed():
    for entry in _manifest():
        assert set(entry) == FIELDS, entry["file"]
        assert not entry["file"].startswith("test_") and entry["file"].endswith(".py")
        assert entry["bites"] in ("crash", "silent"), entry["file"]
        assert entry["tier"] in ("static", "train", "run"), entry["file"]
        assert re.fullmatch(r"[A-Za-z_][\w]*(\.(\d+|[A-Za-z_]\w*))*", entry["key_path"]), entry["file"]
        assert isinstance(entry["terms"], list) and all(isinstance(t, str) and t for t in entry["terms"])
        assert entry["mistake"].strip() and entry["category"].strip()


def test_header_names_an_existing_original_with_the_same_url():
    originals = _originals()
    for entry in _manifest():
        lines = (FOLDER / entry["file"]).read_text().split("\n")
        assert lines[0] == f"# Transplants: {entry['source']}", entry["file"]
        assert lines[1] == f"# Mistake: {entry['mistake']}", entry["file"]
        assert entry["source"] in originals, f"{entry['file']}: no original fixture {entry['source']}"
        assert (FIXTURES / entry["source"]).is_file()
        original = originals[entry["source"]]
        assert original["url"] == entry["url"], entry["file"]
        assert original["category"] == entry["category"], entry["file"]
        assert any(line.startswith("_base_ = ") for line in lines), entry["file"]

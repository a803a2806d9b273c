"""The transplanted cases (tests/fixtures/transplanted): each takes one mistake from the real-mistake sets
and writes it again on another architecture or base config of the zoo, to measure whether a mistake is
caught as a family rather than as the one config it was first seen on. Each file names its original in
line 1 and says the mistake in line 2; the manifest is checked against the files and the originals here.
Nothing is audited."""
from __future__ import annotations

import json
import re

import pytest

from audit_helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
FOLDER = FIXTURES / "transplanted"
ORIGINAL_SETS = ("real_mistakes", "real_mistakes_heldout", "real_mistakes_dev")
FIELDS = {"file", "source", "url", "mistake", "bites", "key_path", "terms", "category", "tier"}
KEY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*")


def manifest() -> list[dict]:
    return json.loads((FOLDER / "manifest.json").read_text())


def originals() -> dict[str, dict]:
    found = {}
    for name in ORIGINAL_SETS:
        for entry in json.loads((FIXTURES / name / "manifest.json").read_text()):
            found[f"{name}/{entry['file']}"] = entry
    return found


def test_manifest_lists_exactly_the_fixture_files_once_sorted():
    files = [e["file"] for e in manifest()]
    assert len(files) == len(set(files)), "two entries name the same file"
    assert files == sorted(files)
    assert sorted(files) == sorted(p.name for p in FOLDER.glob("*.py"))
    text = (FOLDER / "manifest.json").read_text()
    assert text.endswith("\n") and text == json.dumps(manifest(), indent=2) + "\n"


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_entry_is_well_formed_and_names_its_original(entry):
    assert set(entry) == FIELDS
    assert not entry["file"].startswith("test_") and entry["file"].endswith(".py")
    lines = (FOLDER / entry["file"]).read_text().split("\n")
    assert lines[0] == f"# Transplants: {entry['source']}"
    assert lines[1] == f"# Mistake: {entry['mistake']}"
    assert any(line.startswith("_base_") or line.startswith("with read_base():") for line in lines[2:]), \
        "a transplant builds on a zoo config (text bases or read_base())"
    source = originals().get(entry["source"])
    assert source is not None, f"{entry['file']}: no original fixture {entry['source']}"
    assert (FIXTURES / entry["source"]).is_file()
    assert source["url"] == entry["url"]
    assert entry["category"] == source["category"]
    assert entry["bites"] in ("crash", "silent")
    assert entry["tier"] in ("static", "train", "run")
    assert KEY_PATH.fullmatch(entry["key_path"]), entry["key_path"]
    last_key = [p for p in entry["key_path"].split(".") if not p.isdigit()][-1]
    if "_" in last_key:  # the file name must not give the mistaken key away
        assert last_key not in entry["file"]
    assert isinstance(entry["terms"], list) and all(isinstance(t, str) and t for t in entry["terms"])
    assert entry["mistake"].strip()


def test_no_original_is_transplanted_more_than_three_times():
    counts: dict[str, int] = {}
    for entry in manifest():
        counts[entry["source"]] = counts.get(entry["source"], 0) + 1
    assert max(counts.values()) <= 3, counts

"""The real-mistake set (tests/fixtures/real_mistakes): config mistakes users reported in public
threads, one minimal config each. The manifest is checked against the files, and the static tier's
catch is pinned fixture by fixture, so a change that stops catching one (or starts to) is seen.
The run tier's catch is measured with scripts/real_mistakes_catch.py (too slow for the suite)."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from audit_helpers import ROOT, run_cli

FOLDER = ROOT / "tests" / "fixtures" / "real_mistakes"


def _catch_script():
    spec = importlib.util.spec_from_file_location("real_mistakes_catch", ROOT / "scripts" / "real_mistakes_catch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MANIFEST = json.loads((FOLDER / "manifest.json").read_text())


def test_manifest_matches_the_fixtures():
    files = {p.name for p in FOLDER.glob("*.py")}
    listed = [e["file"] for e in MANIFEST]
    assert sorted(listed) == sorted(files) and len(set(listed)) == len(listed)
    for entry in MANIFEST:
        text = (FOLDER / entry["file"]).read_text()
        cited = re.findall(r"https://github\.com/\S+/(?:issues|pull|discussions)/\d+", text.split("\n", 3)[0])
        assert cited == [entry["url"]], f"{entry['file']}: its first line must cite {entry['url']}"
        assert entry["key_path"] and entry["category"] and isinstance(entry["caught_static"], bool)


@pytest.fixture(scope="module")
def static_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rm") / "report.json"
    proc = run_cli("--tier", "static", "--no-cache", "--format", "json", "-o", out,
                   *sorted(FOLDER.glob("*.py")), timeout=900)
    assert proc.returncode == 1, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_static_tier_catch_is_pinned(static_report):
    caught = _catch_script().caught
    by_file = {a["config"].rsplit("/", 1)[-1]: a["findings"] for a in static_report["audits"]}
    changed = [f"{e['file']}: {'now caught' if bool(caught(e, by_file[e['file']])) else 'no longer caught'}"
               for e in MANIFEST if bool(caught(e, by_file[e["file"]])) != e["caught_static"]]
    assert not changed, "update caught_static in the manifest if this is intended:\n" + "\n".join(changed)

"""The seed's own stage-2 config, fully audited once, as GitLab Code Quality and rdjson: both
validate against their published schema (tests/fixtures/data/README.md says where each comes
from) and every finding points at a real line of a file in this repository."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

from detaudit.faces.cli import main

from integ_helpers import ROOT

DATA = Path(__file__).parents[1] / "fixtures" / "data"
SEED = "examples/configs/stage2_kaist_domain_ft.py"


@pytest.fixture(scope="module")
def seed_reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed-formats")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main([SEED, "--format", f"gitlab:{out / 'gl.json'}", "--format", f"rdjson:{out / 'rd.json'}",
                         "--format", f"json:{out / 'report.json'}"])
    assert code == 1
    return {"gitlab": json.loads((out / "gl.json").read_text()), "rdjson": json.loads((out / "rd.json").read_text()),
            "report": json.loads((out / "report.json").read_text())}


def _real_line(path: str, line: int) -> str:
    file = ROOT / path
    assert not Path(path).is_absolute() and file.is_file(), path
    lines = file.read_text().splitlines()
    assert 1 <= line <= len(lines), (path, line)
    return lines[line - 1]


def _expected(report) -> dict[str, dict]:
    return {f["fingerprint"]: f for a in report["audits"] for f in a["findings"]}


def _check_line(text: str, finding: dict) -> None:
    """The line sets the finding's key, or pulls in the base file (outside the repository) that does."""
    file = finding["location"]["file"]
    if file.startswith("..") or "site-packages" in file:   # mmdet's own base: moved to the _base_ line
        assert text.startswith("_base_"), text
        return
    leaf = [p for p in (finding["key_path"] or f"model.{finding['module_path']}").split(".") if not p.isdigit()][-1]
    assert leaf in text or leaf == "model", (finding["code"], leaf, text)


def test_seed_stage2_as_gitlab_code_quality(seed_reports):
    issues = seed_reports["gitlab"]
    jsonschema.Draft202012Validator(json.loads((DATA / "gitlab-codequality.schema.json").read_text())).validate(issues)
    expected = _expected(seed_reports["report"])
    assert {"DA101", "DA102", "DA201"} <= {i["check_name"] for i in issues}
    assert {i["fingerprint"] for i in issues} == set(expected)   # the JSON report's fingerprints (paths from root)
    for issue in issues:
        text = _real_line(issue["location"]["path"], issue["location"]["lines"]["begin"])
        _check_line(text, expected[issue["fingerprint"]])
    da101 = next(i for i in issues if i["check_name"] == "DA101")
    assert (da101["location"]["path"], da101["location"]["lines"]["begin"]) == (SEED, 106)
    assert da101["severity"] == "major"


def test_seed_stage2_as_rdjson(seed_reports):
    doc = seed_reports["rdjson"]
    jsonschema.Draft4Validator(json.loads((DATA / "reviewdog-DiagnosticResult.json").read_text())).validate(doc)
    expected = _expected(seed_reports["report"])
    assert {d["fingerprint"] for d in doc["diagnostics"]} == set(expected)
    for d in doc["diagnostics"]:
        start = d["location"]["range"]["start"]
        text = _real_line(d["location"]["path"], start["line"])
        _check_line(text, expected[d["fingerprint"]])
        if "column" in start:
            assert 1 <= start["column"] <= len(text.encode()) + 1
    da201 = next(d for d in doc["diagnostics"] if d["code"]["value"] == "DA201")
    assert da201["severity"] == "ERROR" and da201["location"]["path"] == SEED
    assert _real_line(SEED, da201["location"]["range"]["start"]["line"]).startswith("load_from")

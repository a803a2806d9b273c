"""Configs that do not load or build: a finding naming file and line or key path, never a traceback."""
import json

import pytest

from audit_helpers import run_cli

FIX = "tests/fixtures/rules"


@pytest.mark.parametrize("path,code,check", [
    (f"{FIX}/DA001/fires_syntax_error.py", "DA001",
     lambda f: f["location"] == {"file": f"{FIX}/DA001/fires_syntax_error.py", "line": 3, "column": None}),
    (f"{FIX}/DA001/fires_missing_base.py", "DA001", lambda f: "no_such_base.py" in f["message"]),
    (f"{FIX}/DA002/fires_unregistered.py", "DA002",
     lambda f: f["key_path"] == "model.neck.type" and f["location"]["line"] == 3),
    (f"{FIX}/DA002/fires_unexpected_argument.py", "DA002",
     lambda f: f["key_path"] == "model.roi_head.use_domain_loss" and f["location"]["line"] == 3),
])
def test_broken_config_is_a_finding(path, code, check):
    r = run_cli("--format", "json", path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    audit = json.loads(r.stdout)["audits"][0]
    assert audit["status"] == "failed"
    (finding,) = [f for f in audit["findings"] if f["code"] == code]
    assert check(finding), finding
    # every deeper rule is skipped with the reason, never counted as passed
    skipped = {s["code"]: s["reason"] for s in audit["skipped_rules"]}
    assert "DA102" in skipped and code in skipped["DA102"]


def test_debug_shows_the_traceback_of_the_audited_failure_only_on_request():
    path = f"{FIX}/DA002/fires_unregistered.py"
    assert "Traceback" not in run_cli(path).stdout


def test_broken_and_good_configs_in_one_run_each_get_a_report():
    r = run_cli("--format", "json", "--tier", "build", f"{FIX}/DA001/fires_syntax_error.py", f"{FIX}/DA001/quiet.py")
    assert r.returncode == 1
    audits = json.loads(r.stdout)["audits"]
    assert [a["status"] for a in audits] == ["failed", "completed"]

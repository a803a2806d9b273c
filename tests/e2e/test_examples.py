"""examples/ci/github-workflow.yml: well-formed, and the detaudit commands it runs are valid
invocations whose outputs are the files the later steps upload. (examples/pytest/test_configs.py
runs in test_plugin.py inside a scratch project.)"""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from detaudit.faces.cli import main

from integ_helpers import ROOT, make_project

WORKFLOW = ROOT / "examples" / "ci" / "github-workflow.yml"
SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow):
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _detaudit_commands(workflow) -> list[list[str]]:
    commands = []
    for step in _steps(workflow):
        for line in str(step.get("run", "")).splitlines():
            argv = shlex.split(line)
            if argv and argv[0] == "detaudit":
                commands.append(argv[1:])
    return commands


def test_workflow_shape(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers and "pull_request" in triggers
    assert workflow["permissions"]["security-events"] == "write"
    steps = _steps(workflow)
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "always()" in upload["if"], "upload the SARIF even when the audit step fails the job"
    (command,) = _detaudit_commands(workflow)
    assert "github" in command and f"sarif:{upload['with']['sarif_file']}" in command
    install = next(s for s in steps if "pip install" in str(s.get("run", "")))
    assert "torch==2.13.0" in install["run"] and "mmcv==2.1.0" in install["run"] and "mmdet==3.3.0" in install["run"]


def test_workflow_commands_run(workflow, tmp_path, monkeypatch, capsys):
    """The audit command as written, in a checkout with a configs/ folder (static tier, to stay quick)."""
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    upload = next(s for s in _steps(workflow) if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    for argv in _detaudit_commands(workflow):
        code = main(argv + ["--tier", "static"])
        out = capsys.readouterr()
        assert code == 1, out.err  # the broken config fails the job ...
        assert "::error file=configs/stage2_broken.py,line=4" in out.out  # ... with an annotation
        sarif = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
        # the missing load_from, and the lr_mult=0 "freeze" the static tier reads from the config
        assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["DA101", "DA201"]
        junit = [a.split(":", 1)[1] for a in argv if a.startswith("junit:")]
        assert all((tmp_path / p).read_text().startswith("<?xml") for p in junit)

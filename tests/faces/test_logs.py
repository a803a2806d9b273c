"""``detaudit logs WORK_DIR`` as a user meets it: exit codes, formats, options, and bad input
that gets one line instead of a traceback. The work dirs are the DA9xx rule fixtures."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit_helpers import run_cli, validate_report

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def logs(capsys):
    """``detaudit logs ARGS`` in this process (the subprocess tests below cover the real command)."""
    from detaudit.faces.cli import main

    def run(*args):
        capsys.readouterr()
        code = main(["logs", *map(str, args)])
        out = capsys.readouterr()
        return _Result(code, out.out, out.err)

    return run


def test_help_names_the_command_and_its_options():
    r = run_cli("logs", "--help")
    assert r.returncode == 0
    for option in ("--expect-losses", "--expect-frozen", "--cfg-options", "--config", "--fail-on", "--format"):
        assert option in r.stdout
    assert "detaudit logs WORK_DIR" in run_cli("--help").stdout


def test_a_clean_run_exits_0_and_a_run_with_findings_exits_1(logs):
    clean = run_cli("logs", FIXTURES / "DA905" / "quiet")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ok: 1 config(s), 0 error(s)" in clean.stdout
    bad = run_cli("logs", FIXTURES / "DA905" / "fires_zero_tail")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "DA905 [error] loss_macl is exactly 0.0 since iteration 7" in bad.stdout
    assert logs(FIXTURES / "DA905" / "fires_zero_tail", "--exit-zero").returncode == 0
    assert logs(FIXTURES / "DA905" / "fires_zero_tail", "--severity", "DA905=warning").returncode == 0
    assert logs(FIXTURES / "DA905" / "fires_zero_tail", "--severity", "DA905=warning",
                "--fail-on", "warning").returncode == 1


def test_json_report_has_the_config_audits_schema(tmp_path, logs):
    out = tmp_path / "report.json"
    r = logs( FIXTURES / "DA903" / "fires_stopped", "--format", f"json:{out}", "--format", "github")
    assert r.returncode == 1
    data = json.loads(out.read_text())
    validate_report(data)
    audit = data["audits"][0]
    assert audit["config"].endswith("DA903/fires_stopped")
    assert [f["code"] for f in audit["findings"]] == ["DA903"]
    # the last value logged of every loss key (loss_aux stopped at iteration 3)
    rows = (FIXTURES / "DA903" / "fires_stopped" / "20240101_120000" / "vis_data" / "scalars.json").read_text()
    last = [json.loads(line) for line in rows.splitlines()]
    assert audit["losses"]["loss_cls"] == last[-1]["loss_cls"] and audit["losses"]["loss_aux"] == last[2]["loss_aux"]
    assert audit["tiers"]["forward"] == "skipped"
    assert r.stdout.startswith("::error file=")


def test_expect_losses_and_select(logs):
    r = logs(FIXTURES / "DA903" / "quiet", "--expect-losses", "loss_cls,loss_macl", "--select", "DA903")
    assert r.returncode == 1 and "loss_macl is expected (--expect-losses) but was never logged" in r.stdout
    r = logs(FIXTURES / "DA903" / "quiet", "--expect-losses", "loss_macl", "--select", "DA904")
    assert r.returncode == 0


def test_several_launches_are_read_as_one_run_the_later_winning(tmp_path, logs):
    """A training resumed halfway writes a second launch folder: its records continue (and, where
    they overlap, replace) the first's."""
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "DA905" / "quiet", work)
    second = work / "20240102_080000" / "vis_data"
    second.mkdir(parents=True)
    rows = [{"lr": 0.01, "loss": 1.0 + i / 100, "loss_cls": 1.0 + i / 100, "loss_bbox": 0.0, "iter": i, "step": i}
            for i in range(9, 14)]
    (second / "scalars.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = FIXTURES / "DA905" / "quiet" / "20240101_120000" / "vis_data" / "config.py"
    r = logs(work, "--select", "DA905", "--format", "json", "--config", config)
    assert r.returncode == 1
    found = json.loads(r.stdout)["audits"][0]["findings"]
    assert [f["message"].split(":")[0] for f in found] == [
        "loss_bbox is exactly 0.0 since iteration 9 (5 of 13 logged iterations, up to 13), after changing before"]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nowhere", "work dir not found"),
    (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "is a file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no training run found"),
])
def test_bad_work_dirs_are_one_line_and_exit_2(tmp_path, make, message):
    r = run_cli("logs", make(tmp_path))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_a_run_without_its_config_asks_for_one(tmp_path, logs):
    work = tmp_path / "work"
    (work / "20240101_120000" / "vis_data").mkdir(parents=True)
    shutil.copy(FIXTURES / "DA905" / "quiet" / "20240101_120000" / "vis_data" / "scalars.json",
                work / "20240101_120000" / "vis_data")
    r = logs(work)
    assert r.returncode == 2 and "give it with --config" in r.stderr
    config = FIXTURES / "DA905" / "quiet" / "20240101_120000" / "vis_data" / "config.py"
    assert logs(work, "--config", config).returncode == 0


def test_unreadable_records_are_skipped_not_fatal(tmp_path, logs):
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "DA904" / "fires", work)
    scalars = work / "20240101_120000" / "vis_data" / "scalars.json"
    scalars.write_text(scalars.read_text() + '{"lr": 0.01, "loss": 1.0, "it')  # a run still writing
    r = logs(work, "--select", "DA904", "--config",
                FIXTURES / "DA904" / "fires" / "20240101_120000" / "vis_data" / "config.py")
    assert r.returncode == 1 and "loss_bbox is nan at iteration 4" in r.stdout


def test_the_python_api_gives_the_same_report():
    import detaudit

    report = detaudit.audit_logs(FIXTURES / "DA904" / "fires", select=["DA904"])
    assert not report.ok and {f.code for f in report.findings} == {"DA904"}  # loss_bbox and the total
    validate_report(json.loads(report.to_json()))
    from detaudit.load.workdir import WorkDirError

    with pytest.raises(WorkDirError):
        detaudit.audit_logs(FIXTURES / "DA904" / "no-such-run")

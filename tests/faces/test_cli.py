"""The command line as a user meets it: exit codes, one-line errors, cheap --help."""
import json
import subprocess
import sys

import pytest

from audit_helpers import ROOT, run_cli

HEAVY = ("torch", "mmdet", "mmengine", "mmcv")


def _imported_after(code: str) -> list[str]:
    probe = (f"import sys\n{code}\n"
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [m for m in out.stdout.rstrip("\n").split("\n")[-1].split(",") if m]


def test_import_detaudit_imports_no_heavy_package():
    assert _imported_after("import detaudit") == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["rules"], ["rule", "DA101"]])
def test_help_and_rule_commands_import_no_heavy_package(argv):
    code = ("from detaudit.faces.cli import main\n"
            "import contextlib, io\n"
            f"with contextlib.redirect_stdout(io.StringIO()): rc = main({argv!r})\n"
            "assert rc == 0, rc")
    assert _imported_after(code) == []


def test_version_prints_the_version_and_the_stack():
    from importlib.metadata import version

    from detaudit import __version__

    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert line.startswith(f"detaudit {__version__} (Python ") and "\n" not in line
    for package in ("torch", "mmengine", "mmcv", "mmdet"):
        assert f"{package} {version(package)}" in line
    assert "--version" in run_cli("--help").stdout


def test_help_lists_the_check_options():
    r = run_cli("--help")
    assert r.returncode == 0
    for option in ("--select", "--fail-on", "--expect-frozen", "--tier", "--cfg-options", "--format"):
        assert option in r.stdout


@pytest.mark.parametrize("argv,needle", [
    (["no/such/config.py"], "config not found: no/such/config.py"),
    (["--fail-on", "fatal", "x.py"], "--fail-on"),
    (["--no-such-option", "x.py"], "unrecognized arguments"),
    (["--select", "ZZ999", "tests/fixtures/rules/DA001/quiet.py"], "unknown rule code or prefix: ZZ999"),
    (["--format", "yaml", "tests/fixtures/rules/DA001/quiet.py"], "unknown format 'yaml'"),
    (["--input-size", "big", "tests/fixtures/rules/DA001/quiet.py"], "expected HxW"),
    (["no/such/*.py"], "no config matches"),
])
def test_misuse_exits_2_with_one_clear_line(argv, needle):
    r = run_cli(*argv)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("detaudit: error:"), r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr + r.stdout


def test_rule_explains_its_doc():
    r = run_cli("rule", "DA101")
    assert r.returncode == 0
    assert r.stdout.startswith("DA101 lr-mult-zero-freeze [error, tier static, from rules]")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in r.stdout
    assert run_cli("rule", "lr-mult-zero-freeze").stdout == r.stdout
    bad = run_cli("rule", "DA999")
    assert bad.returncode == 2 and "no rule 'DA999'" in bad.stderr


def test_rules_lists_every_registered_rule_as_json():
    from detaudit.registry import all_rules

    r = run_cli("rules", "--format", "json")
    assert r.returncode == 0
    listed = {entry["code"]: entry for entry in json.loads(r.stdout)}
    assert set(listed) == set(all_rules())
    assert listed["DA101"]["origin"] == "rules" and listed["DA101"]["tier"] == "static"


def test_static_tier_costs_only_a_config_load():
    r = run_cli("--tier", "static", "--format", "json", "tests/fixtures/rules/DA201/fires.py")
    assert r.returncode == 1
    audit = json.loads(r.stdout)["audits"][0]
    assert [f["code"] for f in audit["findings"]] == ["DA201"]
    assert audit["model"] is None and set(audit["timings_s"]) <= {"static", "total"}
    skipped = {s["code"]: s["reason"] for s in audit["skipped_rules"]}
    assert "tier 'build' not requested" in skipped["DA102"]
    assert audit["tiers"]["build"] == "skipped"


def test_exit_zero_turns_findings_into_0_and_fail_on_warning_counts_warnings():
    path = "tests/fixtures/rules/DA205/fires.py"  # a warning only
    assert run_cli("--tier", "static", path).returncode == 0
    assert run_cli("--tier", "static", "--fail-on", "warning", path).returncode == 1
    assert run_cli("--tier", "static", "--fail-on", "warning", "--exit-zero", path).returncode == 0
    assert run_cli("--tier", "static", "--severity", "DA205=error", path).returncode == 1


def test_report_is_written_atomically_to_a_file(tmp_path):
    out = tmp_path / "reports" / "r.json"
    r = run_cli("--tier", "static", "-o", out, "--format", "json", "tests/fixtures/rules/DA201/fires.py")
    assert r.returncode == 1 and r.stdout == ""
    data = json.loads(out.read_text())
    assert data["summary"]["by_code"] == {"DA201": 1}
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]  # no temporary file left behind


def test_a_report_written_to_a_device_writes_through_it(tmp_path):
    """-o /dev/null must not replace the device with a regular file (the atomic rename would)."""
    import os
    import stat

    from detaudit.atomic import write_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    write_atomic(fifo, "report\n")
    reader.join(timeout=10)
    assert got == ["report\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    write_atomic(os.devnull, "report\n")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_the_run_tier_is_the_default_of_the_command_and_the_api_and_train_of_the_plugin():
    import inspect

    import detaudit
    from detaudit.faces import api, pytest_plugin
    from detaudit.faces.cli.check import parser
    from detaudit.options import AuditOptions

    assert parser().parse_args(["configs/stage2.py"]).tier == "run"
    assert AuditOptions().tier == "run"
    for function in (detaudit.audit, api.audit):
        assert inspect.signature(function).parameters["tier"].default == "run"
    # the plugin's own default (a test suite's quick check) is train
    assert 'or "train"' in inspect.getsource(pytest_plugin.run_audit)

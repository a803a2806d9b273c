"""[tool.detaudit] settings: lookup, validation, precedence, per-file ignores and expect-frozen."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from detaudit.faces.cli import main
from detaudit.settings import FileSettings, SettingsError, find_pyproject, for_config, load_settings, merge

from integ_helpers import write

PYPROJECT = """\
[project]
name = "demo"

[tool.detaudit]
select = ["DA2", "DA007"]
ignore = ["DA205"]
fail-on = "warning"
severity = {DA201 = "info"}
per-file-ignores = {"configs/legacy/*.py" = ["DA201"], "old_*.py" = ["DA007"]}
expect-frozen = {"configs/stage2*.py" = ["backbone", "neck"]}
"""


def test_nearest_pyproject_upwards(tmp_path, monkeypatch):
    write(tmp_path / "pyproject.toml", PYPROJECT)
    deep = tmp_path / "configs" / "legacy"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_pyproject() == tmp_path / "pyproject.toml"
    fs = load_settings()
    assert fs.select == ["DA2", "DA007"] and fs.ignore == ["DA205"] and fs.fail_on == "warning"
    assert fs.severity == {"DA201": "info"}
    # a nearer pyproject.toml without the table wins and means: no settings
    write(deep / "pyproject.toml", "[project]\nname = 'inner'\n")
    assert load_settings().select is None


def test_globs_match_relative_to_the_settings_folder(tmp_path):
    write(tmp_path / "pyproject.toml", PYPROJECT)
    fs = load_settings(tmp_path / "pyproject.toml")
    assert fs.ignores_for(tmp_path / "configs/legacy/a.py") == ["DA201"]
    assert fs.ignores_for(tmp_path / "configs/a.py") == []
    assert fs.ignores_for(tmp_path / "configs/deep/old_x.py") == ["DA007"]  # no "/" in the glob: file name
    modules, source = fs.expect_frozen_for(tmp_path / "configs/stage2_kaist.py")
    assert modules == ["backbone", "neck"]
    assert source == "[tool.detaudit] expect-frozen 'configs/stage2*.py'"
    assert fs.expect_frozen_for(tmp_path / "configs/stage1.py") == ([], None)


def test_command_line_wins(tmp_path):
    fs = load_settings(write(tmp_path / "pyproject.toml", PYPROJECT))
    s = merge(fs)
    assert (s.select, s.ignore, s.fail_on, s.severity) == (["DA2", "DA007"], ["DA205"], "warning", {"DA201": "info"})
    s = merge(fs, select=["DA1"], ignore=[], fail_on="error", severity={"DA201": "error", "DA101": "info"})
    assert (s.select, s.ignore, s.fail_on) == (["DA1"], [], "error")
    assert s.severity == {"DA201": "error", "DA101": "info"}
    # per config: the file's expect-frozen applies unless the command line names modules itself
    cfg = tmp_path / "configs" / "stage2_x.py"
    one, source = for_config(fs, merge(fs), cfg, cli_expect_frozen=False)
    assert one.expect_frozen == ["backbone", "neck"] and source.startswith("[tool.detaudit] expect-frozen")
    two, source = for_config(fs, merge(fs, expect_frozen=["roi_head"]), cfg, cli_expect_frozen=True)
    assert two.expect_frozen == ["roi_head"] and source == "--expect-frozen"
    legacy, _ = for_config(fs, merge(fs), tmp_path / "configs" / "legacy" / "a.py", cli_expect_frozen=False)
    assert legacy.ignore == ["DA205", "DA201"]


@pytest.mark.parametrize("table,expected", [
    ("select = 3", "select must be a list"),
    ("fail-on = 'fatal'", "fail-on must be one of"),
    ("severity = {DA201 = 'loud'}", "severity DA201 must be one of"),
    ("per-file-ignores = ['a']", "per-file-ignores must be a table"),
    ("expect-frozen = {'x.py' = [1]}", "expect-frozen 'x.py' must map to a list"),
    ("colour = true", "unknown key 'colour'"),
])
def test_invalid_tables(tmp_path, table, expected):
    path = write(tmp_path / "pyproject.toml", f"[tool.detaudit]\n{table}\n")
    with pytest.raises(SettingsError, match=expected) as info:
        load_settings(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content,expected", [
    ("[tool.detaudit\nselect = ['DA1']\n", "invalid TOML"),
    ("[tool.detaudit]\nselect = ['DA99']\n", "unknown rule code or prefix: DA99"),
    ("[tool.detaudit]\nper-file-ignores = {'a.py' = ['XY123']}\n", "unknown rule code or prefix: XY123"),
])
def test_cli_exits_2_with_one_line_on_bad_settings(tmp_path, monkeypatch, capsys, content, expected):
    write(tmp_path / "pyproject.toml", content)
    cfg = write(tmp_path / "c.py", "x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert main([str(cfg), "--tier", "static"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "pyproject.toml" in err and "Traceback" not in err


def test_unreadable_settings_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    cfg = write(tmp_path / "c.py", "x = 1\n")
    assert main([str(cfg), "--settings", str(missing)]) == 2
    assert "settings file not found" in capsys.readouterr().err


def test_cli_applies_settings_per_config(tmp_path, monkeypatch, capsys):
    """select/severity/per-file-ignores from the file, the command line winning, end to end."""
    write(tmp_path / "pyproject.toml", PYPROJECT)
    write(tmp_path / "configs" / "a.py", "load_from = 'missing.pth'\n")
    write(tmp_path / "configs" / "legacy" / "b.py", "load_from = 'missing.pth'\n")
    monkeypatch.chdir(tmp_path / "configs")  # settings are found upwards from here
    code = main(["a.py", "legacy/b.py", "--tier", "static", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    by_config = {a["config"]: [(f["code"], f["severity"]) for f in a["findings"]] for a in report["audits"]}
    assert by_config == {"a.py": [("DA201", "info")], "legacy/b.py": []}
    assert report["settings"]["select"] == ["DA2", "DA007"] and report["settings"]["fail_on"] == "warning"
    assert code == 0  # an info finding under fail-on warning
    code = main(["a.py", "--tier", "static", "--severity", "DA201=error", "--fail-on", "error", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert [f["severity"] for f in report["audits"][0]["findings"]] == ["error"] and code == 1
    # --isolated ignores the file: ALL rules, DA201 at its default severity
    main(["a.py", "--tier", "static", "--isolated", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["select"] == ["ALL"]


def test_empty_settings_without_pyproject(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fs = load_settings(start=Path("/"))
    assert isinstance(fs, FileSettings) and fs.select is None

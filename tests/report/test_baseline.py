"""--write-baseline / --baseline: accept today's findings, report entries that no longer match."""
from __future__ import annotations

import json

from detaudit.faces.cli import main

from integ_helpers import write
from integ_helpers import tiny_checkpoint  # noqa: F401 - a fixture


def _configs(tmp_path):
    write(tmp_path / "configs" / "a.py", "load_from = 'missing_a.pth'\n")
    write(tmp_path / "configs" / "b.py", "load_from = 'missing_b.pth'\nwork_dir = 'w'  # detaudit: ignore[DA201]\n")
    return ["configs/a.py", "configs/b.py", "--tier", "static", "--select", "DA201,DA007"]


def test_round_trip_and_stale_entry(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = _configs(tmp_path)
    assert main(args) == 1
    capsys.readouterr()
    assert main(args + ["--write-baseline", "baseline.json"]) == 0
    assert "wrote 3 finding(s) of 2 config(s)" in capsys.readouterr().err
    doc = json.loads((tmp_path / "baseline.json").read_text())
    assert doc["detaudit_baseline"] == 1
    assert sorted((e["code"], e["config"], e["key_path"]) for e in doc["entries"]) == [
        ("DA007", "configs/b.py", "work_dir"), ("DA201", "configs/a.py", "load_from"),
        ("DA201", "configs/b.py", "load_from")]
    assert all("line" not in e for e in doc["entries"])

    assert main(args + ["--baseline", "baseline.json"]) == 0
    out = capsys.readouterr()
    assert "accepted 3 finding(s)" in out.err and "stale" not in out.err and "0 error(s)" in out.out

    # lines move: still accepted (fingerprints never use line numbers)
    write(tmp_path / "configs" / "a.py", "# moved\n\n\nload_from = 'missing_a.pth'\n")
    assert main(args + ["--baseline", "baseline.json"]) == 0
    assert "stale" not in capsys.readouterr().err

    # fix one finding: the entry is reported as stale, the exit code stays 0
    (tmp_path / "missing_a.pth").write_bytes(b"")
    assert main(args + ["--baseline", "baseline.json"]) == 0
    err = capsys.readouterr().err
    assert err.count("stale entry") == 1
    assert "stale entry DA201 in configs/a.py (load_from) is no longer reported" in err
    assert "--write-baseline baseline.json" in err

    # a new finding is not hidden by the baseline
    write(tmp_path / "configs" / "c.py", "load_from = 'missing_c.pth'\n")
    assert main(["configs/c.py"] + args + ["--baseline", "baseline.json", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(a["config"], [f["code"] for f in a["findings"]]) for a in report["audits"]] == [
        ("configs/c.py", ["DA201"]), ("configs/a.py", []), ("configs/b.py", [])]


def test_same_baseline_from_another_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = _configs(tmp_path)
    assert main(args + ["--write-baseline", "baseline.json"]) == 0
    monkeypatch.chdir(tmp_path / "configs")
    assert main(["a.py", "b.py", "--tier", "static", "--select", "DA201,DA007", "--baseline", "../baseline.json"]) == 0
    assert "accepted 3 finding(s)" in capsys.readouterr().err


def test_stale_only_judged_for_configs_and_rules_that_ran(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = _configs(tmp_path)
    assert main(args + ["--write-baseline", "baseline.json"]) == 0
    capsys.readouterr()
    # only a.py audited: b.py's entries are not stale
    assert main(["configs/a.py", "--tier", "static", "--select", "DA201,DA007", "--baseline", "baseline.json"]) == 0
    assert "stale" not in capsys.readouterr().err
    # DA201 not selected: its entries are not judged
    assert main(["configs/a.py", "--tier", "static", "--select", "DA007", "--baseline", "baseline.json"]) == 0
    assert "stale" not in capsys.readouterr().err


def test_bad_baseline_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = _configs(tmp_path)
    assert main(args + ["--baseline", "nope.json"]) == 2
    assert "baseline file not found" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{\"entries\": 3}")
    assert main(args + ["--baseline", "bad.json"]) == 2
    err = capsys.readouterr().err
    assert "not a detaudit baseline" in err and err.count("\n") == 1


def test_full_audit_round_trip(tmp_path, monkeypatch, capsys, tiny_checkpoint):
    """As a user checks it, on the model-level findings of a broken stage-2 config (build tier: the
    forward and training step add nothing to fingerprints and cost time), then one finding fixed."""
    from integ_helpers import make_project

    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["configs/stage2_broken.py", "--tier", "build"]
    assert main(args + ["--write-baseline", "b.json"]) == 0
    codes = sorted(e["code"] for e in json.loads((tmp_path / "b.json").read_text())["entries"])
    assert {"DA101", "DA102", "DA201"} <= set(codes)
    capsys.readouterr()
    assert main(args + ["--baseline", "b.json"]) == 0
    assert "stale" not in capsys.readouterr().err
    # point load_from at a real checkpoint: DA201 is gone, its entry is reported as stale
    text = (tmp_path / "configs" / "stage2_broken.py").read_text()
    (tmp_path / "configs" / "stage2_broken.py").write_text(
        text.replace("./work_dirs/stage1/epoch_latest.pth", str(tiny_checkpoint)))
    assert main(args + ["--baseline", "b.json"]) == 0
    err = capsys.readouterr().err
    assert "stale entry DA201 in configs/stage2_broken.py (load_from)" in err and err.count("stale entry") == 1

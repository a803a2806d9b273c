"""``detaudit --fix / --unsafe-fixes / --diff`` from the command line: what is written, where, and
what is refused."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from detaudit.cli import main

BASE = Path(__file__).parents[1] / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    (tmp_path / "_base_").mkdir()
    (tmp_path / "_base_" / "tiny_frcnn.py").write_text(BASE.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DETAUDIT_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _run(capsys, *args):
    code = main([*map(str, args), "--tier", "static", "--no-exec", "--no-cache"])
    out, err = capsys.readouterr()
    return code, out, err


STRING_CLASSES = ("_base_ = ['./_base_/tiny_frcnn.py']\n"
                  "# the classes of this dataset\n"
                  "metainfo = dict(classes=('person'))  # one class\n"
                  "train_dataloader = dict(dataset=dict(type='CocoDataset', metainfo=metainfo, ann_file='a.json'))\n")


def test_report_marks_fixable_findings_and_counts_them(tree, capsys):
    cfg = _write(tree / "cfg.py", STRING_CLASSES)
    code, out, _ = _run(capsys, cfg, "--select", "DA804")
    assert code == 1
    assert "DA804 [error] cfg.py" not in out
    line = next(x for x in out.splitlines() if "DA804 [error]" in x)
    assert line.endswith(" [*]") and "[*] 1 fixable with --fix." in out
    code, out, _ = _run(capsys, cfg, "--select", "DA804", "--format", "json")
    finding = json.loads(out)["audits"][0]["findings"][0]
    assert finding["fixable"] == {"applicability": "safe", "description": "classes=('person', ): a one-name tuple"}
    assert json.loads(out)["schema_version"] == "1.2"


def test_diff_prints_and_writes_nothing(tree, capsys):
    cfg = _write(tree / "cfg.py", STRING_CLASSES)
    code, out, err = _run(capsys, cfg, "--select", "DA804", "--diff")
    assert code == 1 and "== " not in out  # the diff is the output, as ruff's; 1: there is something to fix
    assert "-metainfo = dict(classes=('person'))  # one class" in out
    assert "+metainfo = dict(classes=('person', ))  # one class" in out
    assert "would fix DA804" in err
    assert cfg.read_text() == STRING_CLASSES


def test_fix_keeps_comments_and_is_idempotent(tree, capsys):
    cfg = _write(tree / "cfg.py", STRING_CLASSES)
    os.chmod(cfg, 0o640)
    code, out, err = _run(capsys, cfg, "--select", "DA804", "--fix")
    assert code == 0, out + err
    text = cfg.read_text()
    assert text == STRING_CLASSES.replace("('person')", "('person', )")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640  # the atomic write keeps the file's mode
    assert "no findings" in out  # the report is of the fixed config
    code, out, err = _run(capsys, cfg, "--select", "DA804", "--fix")
    assert cfg.read_text() == text and "fixed" not in err


def test_unused_suppression_removed(tree, capsys):
    cfg = _write(tree / "cfg.py", "_base_ = ['./_base_/tiny_frcnn.py']\n"
                                  "load_from = None  # detaudit: ignore[DA201]\n")
    code, out, err = _run(capsys, cfg, "--select", "DA007,DA201", "--fix")
    assert "fixed DA007" in err, err
    assert cfg.read_text() == "_base_ = ['./_base_/tiny_frcnn.py']\nload_from = None\n"


def test_value_from_a_base_is_overridden_in_the_child(tree, capsys):
    _write(tree / "_base_" / "data.py", "train_dataloader = dict(dataset=dict(type='CocoDataset', "
                                        "metainfo=dict(classes=('person')), ann_file='a.json'))\n")
    base_text = (tree / "_base_" / "data.py").read_text()
    cfg = _write(tree / "cfg.py", "_base_ = ['./_base_/tiny_frcnn.py', './_base_/data.py']\n")
    code, out, err = _run(capsys, cfg, "--select", "DA804", "--fix")
    assert "fixed DA804" in err
    assert (tree / "_base_" / "data.py").read_text() == base_text  # the base other configs inherit: untouched
    assert "train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person', ))))" in cfg.read_text()
    assert "no findings" in out


def test_rename_in_a_base_is_unsafe(tree, capsys):
    _write(tree / "_base_" / "data.py", "train_dataloader = dict(samples_per_gpu=2, dataset=dict("
                                        "type='CocoDataset', ann_file='a.json'))\n")
    cfg = _write(tree / "cfg.py", "_base_ = ['./_base_/tiny_frcnn.py', './_base_/data.py']\n")
    code, out, err = _run(capsys, cfg, "--select", "DA003", "--fix")
    assert "not fixed DA003" in err and "--unsafe-fixes" in err
    assert "samples_per_gpu" in (tree / "_base_" / "data.py").read_text()
    code, out, err = _run(capsys, cfg, "--select", "DA003", "--fix", "--unsafe-fixes")
    assert "fixed DA003" in err
    assert "batch_size=2" in (tree / "_base_" / "data.py").read_text()


def test_read_only_file_is_not_written(tree, capsys, monkeypatch):
    cfg = _write(tree / "cfg.py", STRING_CLASSES)
    os.chmod(cfg, 0o444)
    real_access = os.access
    # as root every file is writable: answer for this one as the permission bits say
    monkeypatch.setattr("detaudit.fix.engine.os.access",
                        lambda p, mode: False if Path(p) == cfg and mode == os.W_OK else real_access(p, mode))
    code, out, err = _run(capsys, cfg, "--select", "DA804", "--fix")
    assert "read-only: nothing written" in err
    assert cfg.read_text() == STRING_CLASSES
    assert code == 1  # the finding stays; read-only is not misuse


def test_a_config_that_does_not_parse_is_left_alone(tree, capsys):
    text = "_base_ = ['./_base_/tiny_frcnn.py']\nmodel = dict(\n"
    cfg = _write(tree / "cfg.py", text)
    code, out, err = _run(capsys, cfg, "--fix")
    assert code == 1 and "DA001" in out and "Traceback" not in err
    assert cfg.read_text() == text

"""``detaudit show``: each key's value with the file:line of every assignment that produced it."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from audit_helpers import ROOT, run_cli

STAGE2 = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft.py"


def _zoo_line(rel: str, needle: str) -> int:
    import importlib.util

    root = Path(importlib.util.find_spec("mmdet").submodule_search_locations[0]) / ".mim" / "configs"
    lines = (root / rel).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize("no_exec", [False, True])
def test_show_names_the_base_file_and_line_of_an_inherited_key(no_exec):
    args = ["show", STAGE2, "model.backbone.frozen_stages"] + (["--no-exec"] if no_exec else [])
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    line = _zoo_line("_base_/models/faster-rcnn_r50_fpn.py", "frozen_stages=")
    assert r.stdout == (f"model.backbone.frozen_stages = 1  <- mmdet::_base_/models/faster-rcnn_r50_fpn.py:{line} "
                        f"(overrides nothing)\n")


def test_show_lists_overrides_discarded_values_and_cfg_options(tmp_path):
    (tmp_path / "base.py").write_text("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9))\n")
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent("""\
        _base_ = './base.py'
        optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-4))
        """))
    r = run_cli("show", child, "optim_wrapper.optimizer", "--cfg-options", "optim_wrapper.optimizer.lr=0.5",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert "optim_wrapper.optimizer.lr = 0.5  <- --cfg-options (overrides 0.0001 <- child.py:2)" in out
    assert "    0.02  <- base.py:1 (discarded by child.py:2: _delete_=True)" in out
    assert "optim_wrapper.optimizer.momentum  (not in the config)" in out
    assert "    0.9  <- base.py:1 (discarded by child.py:2: _delete_=True)" in out

    r = run_cli("show", child, "optim_wrapper.optimizer.momentum", "optim_wrapper.optimizer.type", "--format", "json",
                cwd=tmp_path)
    data = json.loads(r.stdout)
    assert data["schema"] == "detaudit-show/1" and data["loaded"] is True and data["missing"] == []
    momentum, kind = data["keys"]
    assert momentum["present"] is False and "value" not in momentum
    column = (tmp_path / "base.py").read_text().index("momentum") + 1
    assert momentum["assignments"] == [{"file": "base.py", "line": 1, "column": column, "origin": "config",
                                        "kind": "value", "text": "0.9", "status": "discarded", "value": 0.9,
                                        "by": {"file": "child.py", "line": 2}, "reason": "_delete_=True",
                                        "ref": "base.py:1"}]
    assert kind["value"] == "Adam" and [a["status"] for a in kind["assignments"]] == ["discarded", "set"]


def test_show_without_keys_prints_every_key_and_unknown_keys_exit_1(tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("a = dict(b=1, c=[1, 2], d=[dict(e=3)])\nf = 'x'\n")
    r = run_cli("show", cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [line.split(" = ")[0] for line in r.stdout.splitlines()] == ["a.b", "a.c", "a.d.0.e", "f"]
    r = run_cli("show", cfg, "a.nope", cwd=tmp_path)
    assert r.returncode == 1
    assert "a.nope: no such key in c.py or in any file it inherits from" in r.stdout
    r = run_cli("show", tmp_path / "absent.py", cwd=tmp_path)
    assert r.returncode == 2 and "config not found" in r.stderr


def test_show_of_a_config_that_does_not_load_still_shows_the_files(tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("a = dict(b=1)\nraise RuntimeError('boom')\n")
    r = run_cli("show", cfg, "a.b", cwd=tmp_path)
    assert r.returncode == 1
    assert "boom" in r.stdout.splitlines()[0]
    assert "a.b = 1  <- c.py:1 (overrides nothing)" in r.stdout

"""A folder audit audits configs only (issue 15, defect 5): model code, scripts and a partial
config another one inherits are skipped with a note; files named explicitly are always audited."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

from audit_helpers import run_cli
from detaudit.load.discover import config_shape, select_configs

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT / "tests" / "fixtures" / "projects" / "folder_scan"
PROJECT = SCAN / "tinyproj"


def test_the_fixture_project_keeps_its_one_full_config():
    files = sorted(p for p in PROJECT.rglob("*.py") if p.name != "__init__.py")
    kept, skipped = select_configs(files)
    assert kept == [PROJECT / "configs" / "tiny_codet.py"]
    why = {p.relative_to(PROJECT).as_posix(): reason for p, reason in skipped}
    assert set(why) == {"configs/schedule_partial.py", "tinydet/aux_head.py", "tinydet/box_utils.py",
                        "tools/convert_weights.py"}
    assert why["configs/schedule_partial.py"] == "a partial config without a model, inherited by tiny_codet.py"
    assert why["tinydet/aux_head.py"].startswith("sets none of a config's names (model, *_dataloader, _base_")


def test_what_makes_a_file_a_config(tmp_path):
    def shape(text):
        path = tmp_path / "f.py"
        path.write_text(textwrap.dedent(text))
        return config_shape(path)

    assert shape("train_dataloader = dict(batch_size=2)\n").is_config
    assert shape("from mmengine.config import read_base\nwith read_base():\n    from .base import *\n").is_config
    assert shape("if True:\n    model = dict(type='RetinaNet')\n").is_config
    assert shape("model = (\n").is_config  # a syntax error is reported by the audit (DA001)
    assert not shape("import argparse\nif __name__ == '__main__':\n    model = build()\n").is_config
    assert not shape("def f():\n    model = 1\n    return model\nclass A:\n    data_root = 'x'\n").is_config


def test_a_partial_config_whose_base_has_the_model_is_a_config(tmp_path):
    (tmp_path / "model_base.py").write_text("model = dict(type='RetinaNet')\n")
    (tmp_path / "schedule.py").write_text("_base_ = './model_base.py'\ntrain_cfg = dict(max_epochs=1)\n")
    (tmp_path / "full.py").write_text("_base_ = './schedule.py'\n")
    kept, skipped = select_configs(sorted(tmp_path.glob("*.py")))
    assert {p.name for p in kept} == {"full.py", "schedule.py", "model_base.py"} and not skipped


def cli(*args):
    return run_cli(*args, "--tier", "static", "--select", "DA001,DA002", cwd=SCAN,
                   env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(SCAN)])})


def test_folder_audit_notes_each_skipped_file_and_audits_the_config():
    proc = cli("tinyproj")
    assert "== tinyproj/configs/tiny_codet.py" in proc.stdout and "aux_head" not in proc.stdout
    notes = [line for line in proc.stderr.splitlines() if line.startswith("detaudit: skipped ")]
    assert len(notes) == 4 and any("tinyproj/tools/convert_weights.py: sets none" in n for n in notes)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_files_named_explicitly_are_always_audited():
    proc = cli("tinyproj/tinydet/aux_head.py")
    assert "tinyproj/tinydet/aux_head.py" in proc.stdout and "DA001" in proc.stdout
    assert "skipped" not in proc.stderr

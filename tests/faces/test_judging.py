"""Every face judges findings the same way: an inline ``# detaudit: ignore[...]`` comment, the
per-file ignores and severities of ``[tool.detaudit]`` and a baseline give the same answer
through ``detaudit CONFIG``, DetAuditHook (a suppressed error does not stop a ``fail_on='error'``
training) and ``detaudit logs``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from integ_helpers import write

RULES = Path(__file__).parents[1] / "fixtures" / "rules"
TINY_TRAINING = RULES / "_base_" / "tiny_training.py"
# lr_mult=0 on a trainable backbone: DA101 and DA102 (errors) on line 3; no pretrained weights: DA202
CONFIG = f"""\
_base_ = [{str(TINY_TRAINING)!r}]
custom_hooks = [dict(type='DetAuditHook', fail_on='error', check_iter=4{{baseline}})]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05), paramwise_cfg=dict(custom_keys={{{{'backbone': dict(lr_mult=0.0)}}}}))  # detaudit: ignore[DA101]
"""
PYPROJECT = """\
[tool.detaudit]
select = ["DA101", "DA102", "DA202"]
per-file-ignores = {"c.py" = ["DA102"]}
severity = {DA202 = "info"}
"""


def _answer(report: dict) -> list[tuple[str, str]]:
    return sorted((f["code"], f["severity"]) for a in report["audits"] for f in a["findings"])


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))  # tiny_run, as custom_imports names it
    write(tmp_path / "pyproject.toml", PYPROJECT)
    write(tmp_path / "c.py", CONFIG.format(baseline=""))
    return tmp_path


def test_the_command_line_honours_the_comment_the_settings_and_the_baseline(project, capsys):
    from detaudit.faces.cli import main

    assert main(["c.py", "--tier", "build", "--no-cache", "--format", "json:out.json"]) == 0
    report = json.loads((project / "out.json").read_text())
    assert _answer(report) == [("DA202", "info")]          # DA101 suppressed, DA102 ignored for c.py
    skipped = {s["code"] for s in report["audits"][0]["skipped_rules"]}
    assert "DA101" not in skipped                              # it ran: the comment silenced it
    # without the settings file, both errors come back (the comment still silences DA101)
    assert main(["c.py", "--tier", "build", "--no-cache", "--isolated", "--select", "DA101,DA102",
                 "--format", "json:all.json"]) == 1
    assert _answer(json.loads((project / "all.json").read_text())) == [("DA102", "error")]
    assert main(["c.py", "--tier", "build", "--no-cache", "--write-baseline", "b.json"]) == 0
    assert main(["c.py", "--tier", "build", "--no-cache", "--baseline", "b.json",
                 "--format", "json:base.json"]) == 0
    assert _answer(json.loads((project / "base.json").read_text())) == []


def test_the_hook_honours_the_comment_the_settings_and_the_baseline(project):
    """fail_on='error' with DA101 suppressed inline and DA102 ignored for the file: training runs
    to the end; DA202 is info as [tool.detaudit] says; a baseline written by the command line
    accepts it inside training too."""
    pytest.importorskip("mmengine")
    import detaudit.hooks  # noqa: F401 - what custom_imports=['detaudit.hooks'] does
    from mmengine.config import Config
    from mmengine.runner import Runner

    from detaudit.faces.cli import main

    def train(name: str) -> dict:
        cfg = Config.fromfile(str(project / "c.py"))
        cfg.work_dir, cfg.experiment_name = str(project / name), f"{name}-{project.name}"
        runner = Runner.from_cfg(cfg)
        runner.train()
        assert runner.iter == 4  # not stopped
        return json.loads((project / name / "detaudit.json").read_text())

    report = train("plain")
    assert _answer(report) == [("DA202", "info")]
    assert main(["c.py", "--tier", "build", "--no-cache", "--write-baseline", "b.json"]) == 0
    write(project / "c.py", CONFIG.format(baseline=", baseline='b.json'"))
    assert _answer(train("with_baseline")) == []


def test_logs_honours_the_comment_the_settings_and_the_baseline(tmp_path, monkeypatch):
    """DA904 (a loss turns NaN) read from a work dir."""
    from detaudit.faces.cli import main

    work_dir = tmp_path / "run"
    shutil.copytree(RULES / "DA904" / "fires", work_dir)
    config = next(work_dir.glob("*/vis_data/config.py"))
    base = RULES / "_base_" / "tiny_frcnn.py"
    config.write_text(config.read_text().replace("../../../../_base_/tiny_frcnn.py", str(base)))
    monkeypatch.chdir(tmp_path)

    def answer(*extra) -> list[tuple[str, str]]:
        out = tmp_path / "out.json"
        main(["logs", str(work_dir), "--select", "DA904", "--format", f"json:{out}", *extra])
        return _answer(json.loads(out.read_text()))

    found = answer()
    assert found and set(found) == {("DA904", "error")}
    write(tmp_path / "pyproject.toml", '[tool.detaudit]\nseverity = {DA904 = "warning"}\n')
    assert answer() == [("DA904", "warning")] * len(found)
    write(tmp_path / "pyproject.toml", '[tool.detaudit]\nper-file-ignores = {"config.py" = ["DA904"]}\n')
    assert answer() == []
    assert answer("--isolated") == found
    assert main(["logs", str(work_dir), "--isolated", "--select", "DA904", "--write-baseline", "b.json"]) == 0
    assert answer("--isolated", "--baseline", "b.json") == []
    config.write_text("# detaudit: ignore[DA904]\n" + config.read_text())
    assert answer("--isolated") == []

"""Behaviour of the static and build-tier rules that the fixture harness cannot show:
how rules share a failure between them, where findings point, cases that depend on
sys.path."""
from __future__ import annotations

import sys
from pathlib import Path

from detaudit.faces.api import audit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


def _codes(report):
    return [f.code for f in report.findings]


def test_missing_package_is_reported_once_by_da006_not_again_by_da002(monkeypatch):
    path = FIXTURES / "DA006" / "fires_build.py"
    monkeypatch.chdir(path.parent)
    report = audit(str(path), select=["DA002", "DA006"], tier="build")
    result = report.audits[0]
    assert "DA002" in result.ran and "DA006" in result.ran
    assert _codes(report) == ["DA006"]
    assert report.findings[0].evidence["package"] == "lap"


def test_da002_still_reports_a_build_error_no_package_explains(monkeypatch):
    path = FIXTURES / "DA002" / "fires_unexpected_argument.py"
    monkeypatch.chdir(path.parent)
    report = audit(str(path), select=["DA002", "DA006"], tier="build")
    assert _codes(report) == ["DA002"]


def test_da004_points_at_the_assignment_in_the_pure_python_config(monkeypatch):
    path = FIXTURES / "DA004" / "fires.py"
    monkeypatch.chdir(path.parent)
    (finding,) = audit(str(path), select=["DA004"], tier="static").findings
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("model = dict("))
    assert (finding.location.file, finding.location.line) == ("fires.py", line)
    assert finding.evidence["lost_keys"] == ["data_preprocessor", "backbone", "rpn_head", "roi_head", "train_cfg",
                                             "test_cfg"]


def test_da005_names_a_local_module_that_is_not_on_sys_path(tmp_path, monkeypatch):
    (tmp_path / "my_plugin_for_da005").mkdir()
    (tmp_path / "my_plugin_for_da005" / "__init__.py").write_text("")
    cfg = tmp_path / "cfg.py"
    cfg.write_text("custom_imports = dict(imports=['my_plugin_for_da005'], allow_failed_imports=True)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    (finding,) = audit(str(cfg), select=["DA005"], tier="static").findings
    assert "lies under the launch directory" in finding.message
    assert finding.evidence["found_at"].endswith("__init__.py")
    assert (finding.location.file, finding.location.line) == ("cfg.py", 1)


def test_da005_and_da006_read_custom_imports_when_the_config_does_not_load(tmp_path, monkeypatch):
    """allow_failed_imports=False makes the failing import stop the load; the import rules say
    which module and which package, and DA001 does not report the same failure again unless
    they are not selected."""
    cfg = tmp_path / "cfg.py"
    cfg.write_text("custom_imports = dict(imports=['mmpretrain.models', 'detaudit_da005_nothing'],\n"
                   "                      allow_failed_imports=False)\nmodel = dict(type='FasterRCNN')\n")
    monkeypatch.chdir(tmp_path)
    report = audit(str(cfg), select=["DA001", "DA005", "DA006"], tier="build")
    by_code = {f.code: f for f in report.findings}
    assert set(by_code) == {"DA005", "DA006"}
    assert by_code["DA006"].evidence["package"] == "mmpretrain"
    alone = audit(str(cfg), select=["DA001"], tier="build")
    assert [f.code for f in alone.findings] == ["DA001"]
    assert by_code["DA005"].evidence["module"] == "detaudit_da005_nothing"


def test_datasets_under_looks_into_a_list_given_to_a_wrapper():
    """A wrapper given a list where it takes one dataset (DA840) still has its datasets found, so
    the run tier prepares their data and the build's failure is reported, not skipped."""
    from detaudit.rule.config import datasets_under

    wrapper = {"type": "MultiImageMixDataset", "dataset": [{"type": "CocoDataset", "ann_file": "a.json"},
                                                           {"type": "CocoDataset", "ann_file": "b.json"}]}
    assert [p for p, _ in datasets_under(wrapper, "train_dataloader.dataset")] == \
        ["train_dataloader.dataset.dataset.0", "train_dataloader.dataset.dataset.1"]

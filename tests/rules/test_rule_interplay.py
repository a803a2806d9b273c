"""Behaviour of the checkpoint, optimizer, forward and train rules beyond single fixtures: rules
that must fire together or apart, honest skips, the read-only promise of the pipeline probe,
and the detector's rule pack loading like the built-in one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_helpers import ROOT, run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"


def audit_in(folder: Path, config: str, monkeypatch, **kwargs):
    """Audit a fixture as the functional harness does: from its folder, with its folder importable."""
    from detaudit.faces.api import audit

    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    kwargs.setdefault("input_size", (64, 96))
    kwargs.setdefault("tier", "train")  # these rules' tiers; the run tier's interplay is tests/e2e/test_run_tier.py
    return audit(str(folder / config), **kwargs).audits[0]


def codes(result):
    return sorted({f.code for f in result.findings})


def test_module_built_but_never_called_reports_da503_and_da501(monkeypatch):
    result = audit_in(FIXTURES / "DA503", "fires.py", monkeypatch, select=["DA501", "DA503"])
    assert codes(result) == ["DA501", "DA503"]
    for f in result.findings:
        assert f.module_path == "roi_head.aux_head"
    da501 = next(f for f in result.findings if f.code == "DA501")
    assert da501.evidence["numel"] == 2113 and da501.severity == "error"


def test_module_called_without_gradient_is_da501_only(monkeypatch):
    result = audit_in(FIXTURES / "DA501", "fires.py", monkeypatch, select=["DA501", "DA502", "DA503"])
    assert codes(result) == ["DA501"]  # called (not DA503); its metric has no gradient (not DA502)


def test_da503_is_skipped_when_the_loss_forward_fails(monkeypatch):
    result = audit_in(FIXTURES / "DA403", "fires.py", monkeypatch, select=["DA501", "DA503"])
    assert not result.findings
    reasons = {s["code"]: s["reason"] for s in result.skipped}
    # DA403 itself is not selected, so the reason names the failure, not a finding the report lacks
    assert set(reasons) == {"DA501", "DA503"}
    assert all(r.startswith("loss forward failed: ") and "DA403" not in r for r in reasons.values())


def test_train_rule_is_skipped_below_its_tier(monkeypatch):
    result = audit_in(FIXTURES / "DA501", "fires.py", monkeypatch, select=["DA501"], tier="forward")
    assert result.skipped == [{"code": "DA501", "reason": "tier 'train' not requested (--tier forward)"}]


def test_checkpoint_rules_skip_without_load_from(monkeypatch):
    result = audit_in(FIXTURES / "DA203", "quiet.py", monkeypatch, select=["DA203", "DA204", "DA206"], tier="build")
    assert not result.findings
    assert {s["code"]: s["reason"] for s in result.skipped} == {
        c: "the config sets no load_from" for c in ("DA203", "DA204", "DA206")}


def test_da401_static_tier_reads_the_config_only(monkeypatch):
    folder = FIXTURES / "DA401"
    result = audit_in(folder, "fires.py", monkeypatch, select=["DA401"], tier="static")
    [finding] = result.findings
    assert "drops scale_factor" in finding.message and "confirmed" not in finding.message
    assert finding.location.file.endswith("fires.py") and finding.location.line == 7
    assert "forward" not in result.timings and "build" not in result.timings


def test_da401_probe_writes_nothing_next_to_the_config(monkeypatch, tmp_path):
    import tempfile

    folder = FIXTURES / "DA401"
    before = sorted(p.name for p in folder.iterdir())
    probes_before = {p.name for p in Path(tempfile.gettempdir()).glob("detaudit-pipeline-*")}
    result = audit_in(folder, "fires_no_resize.py", monkeypatch, select=["DA401"])
    assert codes(result) == ["DA401"]
    assert result.findings[0].evidence["predict"].startswith("AssertionError")
    assert sorted(p.name for p in folder.iterdir()) == before
    assert {p.name for p in Path(tempfile.gettempdir()).glob("detaudit-pipeline-*")} == probes_before


def test_optimizer_rule_quiet_on_the_seed_like_lr_mult_config(monkeypatch):
    # lr_mult=0 is DA101's business; the groups themselves hold every parameter once
    result = audit_in(FIXTURES / "DA101", "fires.py", monkeypatch, select=["DA303"], tier="build")
    assert result.ran == ["DA303"] and not result.findings


def test_rules_command_lists_the_detector_pack():
    r = run_cli("rules", "--format", "json", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    rows = {row["code"]: row for row in json.loads(r.stdout)}
    for code, name in (("DM001", "macl-without-pairs"), ("DM002", "domain-loss-single-domain"),
                       ("DM003", "pair-mode-bypasses-pipeline")):
        assert rows[code]["origin"] == "detector" and rows[code]["name"] == name
    assert rows["DA203"]["origin"] == "rules"


def test_rule_command_explains_a_detector_rule():
    r = run_cli("rule", "DM002", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("DM002 domain-loss-single-domain [warning, tier static, from detector]")
    assert "## Why is this bad?" in r.stdout


@pytest.mark.parametrize("config,expected", [
    ("stage2_kaist_domain_ft.py", ["DM002"]),
    ("stage2_kaist_domain_ft_fixed.py", ["DM002"]),
])
def test_stage2_configs_train_the_domain_loss_on_one_domain(config, expected):
    from detaudit.faces.api import audit

    result = audit(str(ROOT / "examples" / "configs" / config), select=["DM"], tier="static").audits[0]
    assert codes(result) == expected
    assert sorted(result.ran) == ["DM001", "DM002", "DM003"]
    [finding] = result.findings
    assert "every training sample has domain 'kaist'" in finding.message
    assert finding.key_path == "model.roi_head.domain_classifier"
    assert finding.location.file.endswith(config) and finding.location.line


def test_da106_leaves_a_mean_teacher_teacher_alone():
    """Soft Teacher freezes the whole teacher without a source of its own: MeanTeacherHook
    copies the student into it, so it is not frozen random weights."""
    from detaudit.faces.api import audit
    from detaudit.load.paths import mmdet_config_root

    config = mmdet_config_root() / "soft_teacher" / "soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py"
    result = audit(str(config), select=["DA106"], tier="build").audits[0]
    assert result.ran == ["DA106"] and not result.findings
    without_hook = audit(str(config), select=["DA106"], tier="build", cfg_options={"custom_hooks": []}).audits[0]
    [finding] = without_hook.findings
    assert finding.module_path == "teacher" and "keep their random initialization" in finding.message


def test_heads_too_large_for_a_benchmark_are_one_finding_on_the_head_side(monkeypatch):
    """One cause (cascade heads sized for another vocabulary over COCO at its own paths), one
    finding: DA601 names every head and tells to edit them; DA602 does not blame COCO."""
    result = audit_in(FIXTURES / "DA601", "fires_heads_share_a_size.py", monkeypatch, select=["DA601", "DA602"],
                      tier="build")
    (finding,) = result.findings
    assert finding.code == "DA601" and finding.key_path == "model.roi_head.bbox_head.0.num_classes"
    assert finding.evidence["heads"] == ["roi_head.bbox_head.0", "roi_head.bbox_head.1", "roi_head.bbox_head.2"]
    assert finding.fix.startswith("the datasets are the benchmark at its own paths, so their 80 classes are right: "
                                  "set num_classes=80 on roi_head.bbox_head.0")


def test_frozen_constant_boxes_leave_only_the_random_features_to_da106(monkeypatch):
    result = audit_in(FIXTURES / "DA106", "fires_frozen_random_embedding.py", monkeypatch, select=["DA106"],
                      tier="build")
    (finding,) = result.findings
    assert finding.evidence["frozen_uncovered"] == 320
    assert all("init_proposal_features" in name for name in finding.evidence["examples"])

"""A fixed, representative sample of mmdet's own config zoo (two-stage, one-stage, DETR
family, Swin, SyncBN, configs that need packages not installed here), audited as the zoo
sweep audits it: no traceback, no crashed worker, a clear finding for what cannot load or
build, and the freezing and optimizer rules quiet on the zoo's conventional setups
(``frozen_stages=1, norm_eval=True`` ResNets, DETR backbones at ``lr_mult=0.1``).

The full sweep over every config is ``scripts/zoo_sweep.py`` (docs/zoo-report.md).
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from zoo_sweep import SAMPLE  # noqa: E402

ZOO = Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"
NEEDS_ABSENT_PACKAGE = {
    "convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py": "mmpretrain",
    "ocsort/ocsort_yolox_x_8xb4-amp-80e_crowdhuman-mot17halftrain_test-mot17halfval.py": "lap",
}
FORWARD = ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", "detr/detr_r50_8xb2-150e_coco.py",
           "rtmdet/rtmdet_tiny_8xb32-300e_coco.py"]


def audit(configs, *options, tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "detaudit", "--jobs", "2", "--timeout", "600",
                           *options, "--format", f"json:{out}", *[ZOO / c for c in configs]],
                          cwd=ZOO, capture_output=True, text=True, timeout=1800)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(out.read_text())
    from audit_helpers import validate_report

    validate_report(report)
    return {a["config"]: a for a in report["audits"]}


def codes(audit_entry) -> set[str]:
    return {f["code"] for f in audit_entry["findings"]}


@pytest.fixture(scope="module")
def build_tier(tmp_path_factory):
    return audit(SAMPLE, "--tier", "build", tmp_path=tmp_path_factory.mktemp("zoo"))


def test_every_sample_config_gets_a_report_in_order(build_tier):
    assert list(build_tier) == SAMPLE
    assert not any("DA093" in codes(a) or "DA091" in codes(a) for a in build_tier.values())


def test_configs_needing_absent_packages_say_which(build_tier):
    for config, package in NEEDS_ABSENT_PACKAGE.items():
        entry = build_tier[config]
        assert entry["status"] == "failed"
        missing = [f for f in entry["findings"] if f["code"] == "DA006"]
        assert missing and package in missing[0]["message"], entry["findings"]


def test_the_rest_builds(build_tier):
    for config, entry in build_tier.items():
        if config in NEEDS_ABSENT_PACKAGE:
            continue
        assert entry["status"] == "completed", (config, entry["tiers"], entry["findings"])
        assert entry["tiers"]["build"] == "ok" and entry["model"]["total_params"] > 0


def test_freezing_and_optimizer_rules_stay_quiet_on_zoo_conventions(build_tier):
    """frozen_stages=1 with norm_eval=True and DETR's lr_mult=0.1 are intended setups."""
    for config, entry in build_tier.items():
        noisy = [f for f in entry["findings"] if f["code"][:3] in ("DA1", "DA3")]
        assert not noisy, (config, [(f["code"], f["message"]) for f in noisy])
    detr = build_tier["detr/detr_r50_8xb2-150e_coco.py"]
    ran = {c for c in ("DA101", "DA102", "DA303")} - {s["code"] for s in detr["skipped_rules"]}
    assert ran == {"DA101", "DA102", "DA303"}, detr["skipped_rules"]


def test_forward_on_two_stage_detr_and_syncbn_configs(tmp_path):
    """Predict and loss with complete metainfo succeed on the zoo's own models."""
    result = audit(FORWARD, "--tier", "forward", tmp_path=tmp_path)
    for config, entry in result.items():
        assert entry["tiers"]["forward"] == "ok", (config, entry["findings"])
        assert not codes(entry) & {"DA402", "DA403", "DA404"}, (config, entry["findings"])
        assert entry["losses"], config


NEEDS_MORE_THAN_IMAGES = ["htc/htc_r50_fpn_1x_coco.py",                      # semantic branch: gt_sem_seg
                          "panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py",    # panoptic: gt_sem_seg
                          "fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py"]          # no RPN: proposals in the data
TRACKING = "qdtrack/qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py"


def test_forward_on_models_that_read_more_than_images(tmp_path):
    """The synthetic batch carries what these models train on, so their passes run; a video
    model's passes are skipped with the reason, never reported as the model's failure."""
    result = audit(NEEDS_MORE_THAN_IMAGES + [TRACKING], "--tier", "train", tmp_path=tmp_path)
    for config in NEEDS_MORE_THAN_IMAGES:
        entry = result[config]
        assert entry["tiers"]["forward"] == "ok" and entry["tiers"]["train"] == "ok", (config, entry["findings"])
        assert not codes(entry) & {"DA402", "DA403", "DA404"}, (config, entry["findings"])
        assert entry["losses"], config
    tracking = result[TRACKING]
    assert tracking["tiers"]["forward"] == tracking["tiers"]["train"] == "skipped"
    assert not codes(tracking) & {"DA402", "DA403"}, tracking["findings"]
    reasons = {s["code"]: s["reason"] for s in tracking["skipped_rules"]}
    assert "video clips" in reasons["DA402"] and "video clips" in reasons["DA403"]

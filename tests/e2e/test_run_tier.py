"""The run tier as a user runs it, on the detector's fixed stage-2 config: synthetic data on a fresh
clone, the real data once generated, and the findings it exists for (a 2.x dataset argument, a
save_best metric the evaluator does not produce, an optimizer that does not build)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit_helpers import ROOT, run_cli, validate_report

FIXED = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft_fixed.py"


def audit(cwd: Path, *args):
    out = cwd / "report.json"
    r = run_cli("--tier", "run", "--format", f"json:{out}", "--format", "text", *args, cwd=cwd, timeout=900)
    assert r.returncode in (0, 1), r.stderr[-3000:]
    data = json.loads(out.read_text())
    validate_report(data)
    return r, data["audits"][0]


def stage1_checkpoint(cwd: Path) -> None:
    """What stage 1 leaves for stage 2's load_from: a weights-only checkpoint of the same architecture."""
    code = ("import torch; from detaudit.facts.context import AuditContext\n"
            f"m = AuditContext({str(FIXED)!r}, tier='build').model\n"
            "torch.save({'state_dict': m.state_dict(), 'meta': {}}, 'work_dirs/stage1_llvip_pretrain/latest.pth')\n")
    (cwd / "work_dirs" / "stage1_llvip_pretrain").mkdir(parents=True)
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, timeout=600, capture_output=True)


@pytest.mark.slow
def test_fresh_clone_runs_the_fixed_stage2_on_synthetic_data(tmp_path):
    stage1_checkpoint(tmp_path)
    r, a = audit(tmp_path, FIXED)
    assert r.returncode == 0, r.stdout[-3000:]
    assert a["tiers"]["run"] == "ok"
    assert {d["kind"] for d in a["run"]["data"].values()} == {"synthetic"}
    assert a["run"]["stages"]["train"] == "ok" and a["run"]["stages"]["test"] == "ok"
    assert a["run"]["checkpoints"], "the config's own checkpoint hook wrote nothing"
    assert "synthetic data for the run" in json.dumps(a["run"]["changes"])
    assert not list(tmp_path.glob("work_dirs/stage2*")), "the run wrote outside its temporary folder"


@pytest.mark.slow
def test_real_data_is_used_when_present_and_its_class_names_are_checked(tmp_path):
    subprocess.run([sys.executable, "-m", "detector.make_synthetic_data", "--root", "data", "--kaist", "4,2,2",
                    "--datasets", "kaist"], cwd=tmp_path, check=True, timeout=300, capture_output=True)
    stage1_checkpoint(tmp_path)
    r, a = audit(tmp_path, FIXED)
    assert {d["kind"] for d in a["run"]["data"].values()} == {"real"}
    assert a["tiers"]["run"] == "ok" and r.returncode == 0, r.stdout[-3000:]
    for xml in tmp_path.glob("data/**/*.xml"):  # the annotation tree calls the class 'pedestrian'
        xml.write_text(xml.read_text().replace("<name>person</name>", "<name>pedestrian</name>"))
    r, a = audit(tmp_path, FIXED, "--select", "DA711")
    hits = [f for f in a["findings"] if f["code"] == "DA711"]
    assert hits and all("'person'" in f["message"] and "'pedestrian'" in f["message"] for f in hits)
    assert "train_dataloader.dataset.metainfo.classes" in {f["key_path"] for f in hits}


def test_findings_name_the_key_a_user_edits(tmp_path):
    """img_prefix on the train dataset, save_best without the metric's prefix, Adam with SGD's momentum."""
    base = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_run.py"
    config = tmp_path / "mistakes.py"
    config.write_text(f"_base_ = [{str(base)!r}]\n"
                      "train_dataloader = dict(dataset=dict(img_prefix='train/'))\n"
                      "default_hooks = dict(checkpoint=dict(save_best='bbox_mAP'))\n")
    r, a = audit(tmp_path, str(config), "--select", "DA7,DA304")
    keys = {f["code"]: f for f in a["findings"]}
    assert keys["DA701"]["key_path"] == "train_dataloader.dataset.img_prefix"
    assert r.returncode == 1
    config.write_text(f"_base_ = [{str(base)!r}]\n"
                      "default_hooks = dict(checkpoint=dict(save_best='bbox_mAP'))\n")
    r, a = audit(tmp_path, str(config), "--select", "DA709")
    (best,) = [f for f in a["findings"] if f["code"] == "DA709"]
    assert "coco/bbox_mAP" in best["evidence"]["produced"] and best["fix"] == "save_best='coco/bbox_mAP'"
    config.write_text(f"_base_ = [{str(base)!r}]\noptim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))\n")
    r, a = audit(tmp_path, str(config), "--select", "DA304,DA7")
    assert r.returncode == 1
    (opt,) = [f for f in a["findings"] if f["code"] == "DA304"]
    assert opt["key_path"] == "optim_wrapper.optimizer.momentum"

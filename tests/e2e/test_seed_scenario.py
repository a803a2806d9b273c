"""The seed report's stage 2, on stock mmdet parts, audited as a user runs it.

These configs hold the model and optimizer only (no dataloaders): they are audited at the train
tier. At the default run tier the Runner cannot train them (DA716 says so); the whole-config
variant, seed_stage2_stock_trainable.py, is the run tier's (benchmarks, tests/e2e/test_run_tier.py)."""
import json

import pytest

from audit_helpers import ROOT, run_cli, validate_report

SEED = "tests/fixtures/configs/seed_stage2_stock.py"
FIXED = "tests/fixtures/configs/seed_stage2_stock_fixed.py"


@pytest.fixture(scope="module")
def seed_run():
    r = run_cli("--format", "json", "--tier", "train", SEED)
    return r, json.loads(r.stdout)


def by_code(audit, code):
    return [f for f in audit["findings"] if f["code"] == code]


def test_seed_exits_1_and_report_validates(seed_run):
    r, data = seed_run
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    validate_report(data)
    audit = data["audits"][0]
    assert audit["status"] == "completed"
    assert audit["tiers"] == {**{t: "ok" for t in ("static", "build", "checkpoint", "optimizer", "forward", "train")},
                              "run": "skipped"}  # --tier train


def test_seed_reports_lr_mult_freeze_and_unfrozen_backbone(seed_run):
    audit = seed_run[1]["audits"][0]
    (da101,) = by_code(audit, "DA101")
    (da102,) = by_code(audit, "DA102")
    for f in (da101, da102):
        assert f["module_path"] == "backbone"
        assert f["key_path"] == "optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult"
        assert f["location"]["file"] == SEED
        line = (ROOT / SEED).read_text().splitlines()[f["location"]["line"] - 1]
        assert "lr_mult=0.0" in line
    assert da101["evidence"]["numel"] == 23_282_688
    assert da101["evidence"]["optimizer_lr"] == [0.0]
    assert da102["evidence"]["trainable"] == 23_282_688 and da102["evidence"]["total"] == 23_508_032
    assert "23,282,688 of 23,508,032" in da102["message"]
    assert "frozen_stages=1 freezes stem+layer1 only" in da102["message"]
    assert da102["evidence"]["intent_source"] == "lr_mult=0"


def test_seed_reports_missing_load_from_with_absolute_path(seed_run):
    audit = seed_run[1]["audits"][0]
    (da201,) = by_code(audit, "DA201")
    expected = str((ROOT / "work_dirs/stage1_llvip_pretrain/epoch_latest.pth").resolve())
    assert da201["evidence"]["absolute"] == expected
    assert expected in da201["message"]


def test_seed_predict_succeeds_with_complete_metainfo(seed_run):
    audit = seed_run[1]["audits"][0]
    assert not by_code(audit, "DA402") and not by_code(audit, "DA403")
    assert "DA402" not in {s["code"] for s in audit["skipped_rules"]}
    assert audit["losses"]["loss_cls"] > 0


def test_seed_backbone_init_is_flagged_as_needing_the_network(seed_run):
    audit = seed_run[1]["audits"][0]
    (da205,) = by_code(audit, "DA205")
    assert da205["evidence"]["source"] == "torchvision://resnet50" and da205["severity"] == "warning"


def test_seed_model_table_matches_the_report(seed_run):
    model = seed_run[1]["audits"][0]["model"]
    rows = {m["path"]: m for m in model["modules"]}
    assert rows["backbone"]["params"] == 23_508_032
    assert rows["backbone"]["params"] - rows["backbone"]["trainable"] == 225_344  # stem + layer1
    assert round(rows["neck"]["params"] / 1e6, 2) == 3.34
    assert round(rows["rpn_head"]["params"] / 1e6, 2) == 0.59
    assert round(rows["roi_head"]["params"] / 1e6, 2) == 13.90
    assert rows["backbone.layer1"]["trainable"] == 0 and rows["backbone.layer2"]["trainable"] > 0
    # the trainable backbone parameters sit at lr 0; the frozen stem+layer1 are in no group
    groups = {(g["name"], g["lr"]): g for g in seed_run[1]["audits"][0]["optimizer"]["groups"]}
    assert groups[("backbone", 0.0)]["numel"] == 23_282_688
    assert sum(g["numel"] for g in groups.values()) == model["trainable_params"]


def test_text_report_shows_findings_and_module_table():
    r = run_cli(SEED, "--tier", "build")
    assert r.returncode == 1
    assert f"{SEED}:11:" in r.stdout and "DA102 [error] backbone: 23,282,688 of 23,508,032" in r.stdout
    assert "backbone.layer1" in r.stdout and "23.51M" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("FAIL: 1 config(s)")


@pytest.fixture(scope="module")
def stock_checkpoint(tmp_path_factory):
    """A checkpoint of the stock model: what stage 1 would have written."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    cfg = Config.fromfile(str(ROOT / FIXED))
    init_default_scope("mmdet")
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp("ckpt") / "stage1.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path


def test_fixed_config_has_no_error_and_exits_0(stock_checkpoint):
    r = run_cli("--format", "json", "--tier", "train", FIXED, "--cfg-options", f"load_from={stock_checkpoint}")
    data = json.loads(r.stdout)
    validate_report(data)
    errors = [f for f in data["audits"][0]["findings"] if f["severity"] == "error"]
    assert errors == [] and r.returncode == 0, (errors, r.stderr)
    rows = {m["path"]: m for m in data["audits"][0]["model"]["modules"]}
    assert rows["backbone"]["trainable"] == 0 and rows["backbone"]["bn_in_train_mode"] == 0
    assert data["audits"][0]["status"] == "completed"


def test_cfg_options_override_reaches_the_model():
    r = run_cli("--format", "json", "--tier", "build", SEED, "--cfg-options", "model.backbone.frozen_stages=4")
    audit = json.loads(r.stdout)["audits"][0]
    assert not by_code(audit, "DA102")
    assert by_code(audit, "DA201")  # untouched by the override

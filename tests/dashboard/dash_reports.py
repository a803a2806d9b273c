"""Reports for the dashboard tests, made with the real Report classes so that they follow the
JSON schema: many configs sharing base files, a module table, a run tier, a suppression."""
from __future__ import annotations

import json
import re
from pathlib import Path

from detaudit.findings import Finding, Location
from detaudit.report.report import Report
from detaudit.report.result import AuditResult

MODULES = [
    {"path": "backbone", "type": "ResNet", "params": 23_500_000, "trainable": 0, "mode_after_train": "eval",
     "bn_in_train_mode": 0},
    {"path": "neck", "type": "FPN", "params": 3_300_000, "trainable": 3_300_000, "mode_after_train": "train",
     "bn_in_train_mode": 0},
    {"path": "rpn_head", "type": "RPNHead", "params": 600_000, "trainable": 600_000, "mode_after_train": "train",
     "bn_in_train_mode": 2},
    {"path": "roi_head", "type": "StandardRoIHead", "params": 14_000_000, "trainable": 14_000_000,
     "mode_after_train": "train", "bn_in_train_mode": 0},
]


def finding(code, name, severity, message, config, key=None, module=None, file=None, line=None, fix=None):
    return Finding(code=code, name=name, severity=severity, message=message, key_path=key, module_path=module,
                   location=Location(file or config, line, None), fix=fix, url=f"https://example.invalid/{code}",
                   config=config, evidence={"value": 0.0})


def audit(config: str, i: int) -> AuditResult:
    """Config i: every third inherits a schedule finding from one base file line; every fifth an error."""
    a = AuditResult(config=config, tiers={"static": "ok", "build": "ok", "checkpoint": "ok", "optimizer": "ok",
                                          "forward": "ok", "train": "ok", "run": "ok"},
                    timings={"static": 0.05, "build": 0.4, "checkpoint": 0.01, "optimizer": 0.2, "forward": 0.8,
                             "train": 1.1, "run": 6.0, "total": 8.56},
                    model={"total_params": 41_400_000, "trainable_params": 17_900_000, "modules": MODULES},
                    run={"stages": {"train": "ok", "val": "ok", "test": "failed: the evaluator needs pycocotools"},
                         "data": {}, "skipped": {}, "metrics": {}, "checkpoints": ["epoch_1.pth"],
                         "changes": [{"key": "train_cfg.max_epochs", "why": "one epoch is enough to run every hook",
                                      "value": 1}],
                         "seconds": 6.0})
    if i % 3 == 0:
        a.findings.append(finding("DA604", "schedule-mismatch", "warning", "param_scheduler ends at epoch 12 "
                                  "but train_cfg.max_epochs is 24", config, key="param_scheduler.1.end",
                                  file="_base_/schedules/schedule_1x.py", line=12,
                                  fix="set end to train_cfg.max_epochs"))
    if i % 5 == 0:
        a.findings.append(finding("DA101", "lr-mult-zero-freeze", "error", "backbone is frozen with lr_mult=0 "
                                  "but still requires gradients", config, key="optim_wrapper.paramwise_cfg",
                                  module="backbone", line=30, fix="use frozen_stages=4"))
    if i % 7 == 0:
        a.findings.append(finding("DA205", "pretrained-needs-network", "info", "checkpoint is not cached",
                                  config, key="model.backbone.init_cfg.checkpoint", file="_base_/models/r50.py",
                                  line=20))
    if i == 1:
        a.suppressed.append(finding("DA603", "dataset-path-missing", "warning", "data_root does not exist",
                                    config, key="data_root", line=3))
    return a


def report(configs: list[str]) -> Report:
    """Config ``configs/.../model_0012_coco.py`` is audit 12 whichever report (shard) holds it."""
    return Report(audits=[audit(c, int(m.group(1)) if (m := re.search(r"model_(\d+)_", c)) else i)
                          for i, c in enumerate(configs)])


def config_names(n: int) -> list[str]:
    folders = ["faster_rcnn", "retinanet", "mask_rcnn", "yolox"]
    return [f"configs/{folders[i % 4]}/model_{i:04d}_coco.py" for i in range(n)]


def write(path: Path, configs: list[str]) -> Path:
    path.write_text(report(configs).to_json())
    return path


def edit(path: Path, **changes) -> Path:
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))
    return path

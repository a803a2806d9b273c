"""The source map: key path -> file:line over ``_base_`` files, ``read_base()`` imports,
in-place edits and ``--cfg-options``. Expected lines are found by reading the config text,
never hard-coded."""
from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from detaudit.load.sourcemap import SourceMap

ZOO = Path(importlib.util.find_spec("mmdet").submodule_search_locations[0]) / ".mim" / "configs"


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based number of the first line containing ``needle`` (after the first line
    containing ``after``, when given)."""
    lines = Path(path).read_text().splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line) + 1
    return next(i for i, line in enumerate(lines[start:], start) if needle in line) + 1


def located(sm: SourceMap, key: str) -> tuple[Path, int]:
    loc = sm.locate(key)
    assert loc is not None, f"{key} not located"
    return Path(loc.file).resolve(), loc.line


def zoo(rel: str) -> Path:
    path = ZOO / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in this mmdet install")
    return path


# ---------------------------------------------------------------- text style (_base_)
def test_inherited_key_points_into_the_base_file():
    cfg = zoo("faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    base = (ZOO / "_base_/models/faster-rcnn_r50_fpn.py").resolve()
    sm = SourceMap.from_file(cfg)
    assert located(sm, "model.backbone.frozen_stages") == (base, line_of(base, "frozen_stages="))
    assert located(sm, "model.roi_head.bbox_head.num_classes") == (base, line_of(base, "num_classes="))
    schedule = (ZOO / "_base_/schedules/schedule_1x.py").resolve()
    assert located(sm, "train_cfg.max_epochs") == (schedule, line_of(schedule, "max_epochs="))


def test_child_override_points_into_the_child_and_siblings_stay_in_the_base():
    cfg = zoo("faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py").resolve()
    base = (ZOO / "_base_/models/faster-rcnn_r50_fpn.py").resolve()
    sm = SourceMap.from_file(cfg)
    assert located(sm, "model.backbone.depth") == (cfg, line_of(cfg, "depth=101"))
    assert located(sm, "model.backbone.init_cfg.checkpoint") == (cfg, line_of(cfg, "torchvision://resnet101"))
    assert located(sm, "model.backbone.norm_eval") == (base, line_of(base, "norm_eval="))


def test_delete_replaces_the_base_subtree():
    from mmengine.config import Config

    cfg = zoo("regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py").resolve()
    sm = SourceMap.from_file(cfg)
    loaded = Config.fromfile(str(cfg))
    assert "depth" not in loaded.model.backbone  # what mmengine does with _delete_=True
    assert "model.backbone.depth" not in sm.keys()
    assert located(sm, "model.backbone.arch") == (cfg, line_of(cfg, "arch='regnetx_3.2gf'"))
    assert located(sm, "model.backbone.frozen_stages") == (cfg, line_of(cfg, "frozen_stages=", after="RegNet"))
    # the neck was merged, not deleted: its type still comes from the base
    assert located(sm, "model.neck.in_channels")[0] == cfg


def test_base_references_and_in_place_edits_of_base_values():
    cfg = zoo("soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.01-coco.py").resolve()
    sm = SourceMap.from_file(cfg)
    # labeled_dataset = _base_.labeled_dataset; labeled_dataset.ann_file = '...'
    assert located(sm, "train_dataloader.dataset.datasets.0.ann_file") == \
        (cfg, line_of(cfg, "labeled_dataset.ann_file ="))
    dc5 = zoo("faster_rcnn/faster-rcnn_r50-caffe-dc5_ms-1x_coco.py").resolve()
    sm = SourceMap.from_file(dc5)
    # _base_.train_dataloader.dataset.pipeline = train_pipeline (a local list)
    assert located(sm, "train_dataloader.dataset.pipeline") == \
        (dc5, line_of(dc5, "_base_.train_dataloader.dataset.pipeline"))
    assert located(sm, "train_dataloader.dataset.pipeline.2.scales") == (dc5, line_of(dc5, "scales=["))


def test_custom_keys_are_located_at_their_own_line():
    cfg = zoo("detr/detr_r50_8xb2-150e_coco.py").resolve()
    sm = SourceMap.from_file(cfg)
    assert located(sm, "optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult") == \
        (cfg, line_of(cfg, "'backbone': dict(lr_mult=0.1"))


@pytest.mark.parametrize("rel", ["faster_rcnn/faster-rcnn_r50-caffe-dc5_ms-3x_coco.py",
                                 "soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py",
                                 "mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py"])
def test_every_loaded_key_is_located_on_a_line_that_names_it(rel):
    """The map agrees with what mmengine really loads: each key of the loaded config has a
    location, and that line mentions the key (list items are checked through their parents)."""
    from mmengine.config import Config

    cfg = zoo(rel)
    sm = SourceMap.from_file(cfg)
    loaded = Config.fromfile(str(cfg)).to_dict()
    checked = 0
    for path, _ in _flat(loaded):
        assert sm.locate(path) is not None, path
        key = path.rsplit(".", 1)[-1]
        if path in sm.keys() and not key.isdigit():
            loc = sm.locate(path)
            assert key in Path(loc.file).read_text().splitlines()[loc.line - 1], (path, loc)
            checked += 1
    assert checked > 100
    # and nothing is located that mmengine does not have
    assert {k.split(".")[0] for k in sm.keys()} <= set(loaded)


def _flat(node, prefix=""):
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    for k, v in items:
        path = f"{prefix}.{k}" if prefix else str(k)
        yield path, v
        yield from _flat(v, path)


# ---------------------------------------------------------------- pure-Python style (read_base)
LAZY_BASE_MODEL = """\
model = dict(
    type='FasterRCNN',
    backbone=dict(
        type='ResNet',
        depth=18,
        frozen_stages=1,
        norm_eval=True),
    neck=dict(type='FPN', in_channels=[64, 128, 256, 512], out_channels=64, num_outs=5),
    rpn_head=dict(type='RPNHead', in_channels=64),
    test_cfg=dict(rpn=dict(nms_pre=100)))
"""
LAZY_BASE_SCHEDULE = """\
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)
"""
LAZY_CHILD = """\
from mmengine.config import read_base
from mmengine.dataset import DefaultSampler

with read_base():
    from .._base_.models.tiny import *
    from lazypkg.configs._base_.schedule import *

checkpoint = 'torchvision://resnet50'
model.update(dict(backbone=dict(depth=50)))
model.merge(dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))))
train_dataloader = dict(batch_size=2, sampler=dict(type=DefaultSampler, shuffle=True))
model.merge(dict(neck=dict(_delete_=True, type='PAFPN', in_channels=[64, 128, 256, 512])))
model['rpn_head']['in_channels'] = 256
model.test_cfg.rpn.nms_pre = 200
optim_wrapper.optimizer.lr = 0.02
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24)
"""
LAZY_REPLACE = """\
from mmengine.config import read_base

with read_base():
    from .._base_.models.tiny import *

model = dict(type='FasterRCNN', neck=dict(type='FPN', in_channels=[64, 128, 256, 512], out_channels=32, num_outs=5))
"""


@pytest.fixture
def lazy_pkg(tmp_path, monkeypatch):
    """A package with mmdet-style pure-Python configs: lazypkg/configs/{_base_,det}/..."""
    root = tmp_path / "lazypkg"
    files = {
        "__init__.py": "",
        "configs/__init__.py": "",
        "configs/_base_/__init__.py": "",
        "configs/_base_/models/__init__.py": "",
        "configs/_base_/models/tiny.py": LAZY_BASE_MODEL,
        "configs/_base_/schedule.py": LAZY_BASE_SCHEDULE,
        "configs/det/__init__.py": "",
        "configs/det/child.py": LAZY_CHILD,
        "configs/det/replace.py": LAZY_REPLACE,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return root / "configs"


def test_read_base_imports_and_in_place_edits(lazy_pkg):
    from mmengine.config import Config

    child = (lazy_pkg / "det/child.py").resolve()
    model_base = (lazy_pkg / "_base_/models/tiny.py").resolve()
    schedule = (lazy_pkg / "_base_/schedule.py").resolve()
    sm = SourceMap.from_file(child)
    assert sm.lazy
    assert set(sm.files) >= {child, model_base, schedule}
    # relative import, key untouched by the child: in the base
    assert located(sm, "model.backbone.frozen_stages") == (model_base, line_of(model_base, "frozen_stages="))
    assert located(sm, "model.backbone.type") == (model_base, line_of(model_base, "type='ResNet'"))
    # model.update(...): recursive for an imported (ConfigDict) value
    assert located(sm, "model.backbone.depth") == (child, line_of(child, "depth=50"))
    # model.merge(...) with _delete_: the base neck's keys are gone
    assert located(sm, "model.neck.type") == (child, line_of(child, "PAFPN"))
    assert "model.neck.num_outs" not in sm.keys()
    # item and attribute assignment
    assert located(sm, "model.rpn_head.in_channels") == (child, line_of(child, "['in_channels'] = 256"))
    assert located(sm, "model.test_cfg.rpn.nms_pre") == (child, line_of(child, "nms_pre = 200"))
    # absolute import from an installed package, edited in place
    assert located(sm, "optim_wrapper.optimizer.lr") == (child, line_of(child, "optimizer.lr = 0.02"))
    assert located(sm, "optim_wrapper.type") == (schedule, line_of(schedule, "type='OptimWrapper'"))
    assert located(sm, "train_cfg.max_epochs") == (child, line_of(child, "max_epochs=24"))
    # a top-level variable used in a merge, an imported class used as a type
    assert located(sm, "model.backbone.init_cfg.checkpoint") == (child, line_of(child, "checkpoint=checkpoint"))
    assert located(sm, "train_dataloader.sampler.type") == (child, line_of(child, "type=DefaultSampler"))
    assert sm.literal("checkpoint") == "torchvision://resnet50"
    assert "DefaultSampler" not in sm.keys()  # imported names are not config keys
    # the map has exactly the keys mmengine loads
    loaded = Config.fromfile(str(child)).to_dict()
    assert {p for p, _ in _flat(loaded)} == {k for k in sm.keys() if k.split(".")[0] in loaded}
    # train_cfg = dict(...) replaced the imported one, but repeated all of its keys
    assert [(ov.key_path, ov.dropped) for ov in sm.overrides] == [("train_cfg", [])]


def test_read_base_replacement_is_recorded_with_the_lost_keys(lazy_pkg):
    from mmengine.config import Config

    cfg = (lazy_pkg / "det/replace.py").resolve()
    sm = SourceMap.from_file(cfg)
    assert located(sm, "model.neck.out_channels") == (cfg, line_of(cfg, "model = dict("))
    assert "model.backbone" not in sm.keys()
    (ov,) = sm.overrides
    assert ov.key_path == "model" and ov.line == line_of(cfg, "model = dict(")
    assert ov.dropped == ["backbone", "rpn_head", "test_cfg"]
    assert ov.base_type == ov.new_type == "FasterRCNN"
    assert sorted(Config.fromfile(str(cfg)).model) == ["neck", "type"]  # what mmengine really does


# ---------------------------------------------------------------- --cfg-options and the engine
def test_cfg_options_are_reported_as_such(tmp_path):
    from detaudit.facts.context import AuditContext

    (tmp_path / "base.py").write_text("model = dict(backbone=dict(type='ResNet', depth=50, frozen_stages=1))\n")
    cfg = tmp_path / "child.py"
    cfg.write_text("_base_ = ['base.py']\nmodel = dict(backbone=dict(depth=101))\n")
    ctx = AuditContext(str(cfg), cfg_options={"model.backbone.frozen_stages": 4}, base_dir=tmp_path)
    sm = ctx.source_map
    loc = sm.locate("model.backbone.frozen_stages")
    assert (loc.file, loc.origin) == ("<cfg-options>", "cfg-options")
    assert (sm.locate("model.backbone.depth").file, sm.locate("model.backbone.depth").line) == ("child.py", 2)
    assert sm.locate("model.backbone.type").file == "base.py"
    assert ctx.cfg.model.backbone.frozen_stages == 4


def test_findings_carry_the_location_of_their_key(tmp_path, monkeypatch):
    """The engine completes a finding's location from its key path: into the base file for
    an inherited key, to <cfg-options> for an override."""
    from detaudit.faces.api import audit

    (tmp_path / "schedule.py").write_text(textwrap.dedent("""\
        train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
            dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11]),
        ]
        """))
    cfg = tmp_path / "long.py"
    cfg.write_text("_base_ = ['schedule.py']\ntrain_cfg = dict(max_epochs=24)\n")
    monkeypatch.chdir(tmp_path)
    finding, = [f for f in audit(str(cfg), select=["DA604"], tier="static").findings]
    assert finding.key_path == "param_scheduler.1"
    assert (finding.location.file, finding.location.line) == ("schedule.py", line_of(tmp_path / "schedule.py",
                                                                                      "MultiStepLR"))
    report = audit(str(cfg), select=["DA806"], tier="static", cfg_options={"train_cfg.val_begin": 30})
    (finding,) = report.findings
    assert finding.location.file == "<cfg-options>"


# ---------------------------------------------------------------- robustness
def test_broken_and_cyclic_configs_give_a_partial_map(tmp_path):
    (tmp_path / "a.py").write_text("_base_ = ['b.py']\nx = dict(k=1)\n")
    (tmp_path / "b.py").write_text("_base_ = ['a.py', 'missing.py']\ny = 2\n")
    (tmp_path / "broken.py").write_text("_base_ = ['a.py']\nmodel = dict(\n")
    sm = SourceMap.from_file(tmp_path / "a.py")
    assert {"x.k", "y"} <= set(sm.keys())
    assert any(base == "missing.py" for base, _, _ in sm.unresolved)
    sm = SourceMap.from_file(tmp_path / "broken.py")
    assert (tmp_path / "broken.py").resolve() in sm.files  # read, so load errors can point into it
    assert sm.locate("model") is None
    sm = SourceMap.from_file(tmp_path / "does_not_exist.py")
    assert sm.locate("model") is None and not sm.files


def test_literal_values_are_readable_when_the_config_does_not_load(tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("custom_imports = dict(imports=['no_such_module_xyz'], allow_failed_imports=False)\n"
                   "data_root = 'data/' + 'kaist/'\nmodel = dict(type=undefined_name)\n")
    sm = SourceMap.from_file(cfg)
    assert sm.literal("custom_imports") == {"imports": ["no_such_module_xyz"], "allow_failed_imports": False}
    assert sm.literal("data_root") == "data/kaist/"
    assert sm.literal("model", "unknown") == "unknown"

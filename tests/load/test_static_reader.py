"""The --no-exec reader: mmengine's semantics without executing anything."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from detaudit.facts.sandbox import refuse_local_imports
from detaudit.load.bases import PLAIN, base_cycle
from detaudit.load.bases import merge_into as _merge_into
from detaudit.load.static_eval import MAX_SEQUENCE
from detaudit.load.static_reader import StaticConfigError, read_static


def merge_into(child, base):
    return _merge_into(child, base, PLAIN)

ZOO = Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_bases_merge_with_delete_and_base_references(tmp_path):
    write(tmp_path, "base.py", "model = dict(type='A', backbone=dict(depth=50, frozen_stages=1), neck=dict(n=1))\n"
                               "backend_args = None\nlr = 0.02\n")
    child = write(tmp_path, "child.py",
                  "_base_ = ['base.py']\n"
                  "model = dict(backbone=dict(depth=101), neck=dict(_delete_=True, m=2))\n"
                  "pipeline = [dict(type='Load', backend_args={{_base_.backend_args}})]\n"
                  "optim = dict(lr=_base_.lr * 2)\n"
                  "_base_.model.type = 'B'\n")
    cfg = read_static(child).cfg
    assert cfg["model"] == {"type": "B", "backbone": {"depth": 101, "frozen_stages": 1}, "neck": {"m": 2}}
    assert cfg["pipeline"] == [{"type": "Load", "backend_args": None}]
    assert cfg["optim"] == {"lr": 0.04}


def test_matches_mmengine_on_zoo_configs():
    from mmengine.config import Config

    for rel in ["faster_rcnn/faster-rcnn_r50-caffe_fpn_ms-1x_coco.py", "detr/detr_r50_8xb2-150e_coco.py",
                "glip/odinw/glip_atss_swin-t_a_fpn_dyhead_pretrain_odinw13.py",
                "soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py",
                "mask_rcnn/mask-rcnn_r50_fpn_1x-wandb_coco.py"]:
        static = read_static(ZOO / rel)
        assert not static.issues, (rel, static.issues)
        assert _plain(static.cfg) == _plain(Config.fromfile(str(ZOO / rel)).to_dict()), rel


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_read_base_style_with_relative_imports(tmp_path):
    write(tmp_path, "bases/model.py", "model = dict(type='RetinaNet', backbone=dict(depth=50))\nlr = 0.01\n")
    child = write(tmp_path, "cfg.py",
                  "from mmengine.config import read_base\n"
                  "with read_base():\n    from .bases.model import *\n"
                  "from mmdet.models import RetinaNet\n"
                  "model.update(dict(type=RetinaNet, backbone=dict(frozen_stages=4)))\n"
                  "lr = lr / 2\n")
    cfg = read_static(child).cfg
    assert cfg["model"] == {"type": "mmdet.models.RetinaNet", "backbone": {"depth": 50, "frozen_stages": 4}}
    assert cfg["lr"] == 0.005 and "RetinaNet" not in cfg


def test_unreadable_constructs_become_issues_and_are_left_out(tmp_path):
    path = write(tmp_path, "cfg.py",
                 "import os\n"
                 "data_root = os.environ.get('DATA', '/data')\n"
                 "layers = [dict(i=i) for i in range(3)]\n"
                 "if True:\n    flag = 1\n"
                 "def f():\n    return 1\n"
                 "x = f()\n"
                 "secret = '{{$HOME:/default}}'\n")
    static = read_static(path)
    assert static.cfg["layers"] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert "data_root" not in static.cfg and "x" not in static.cfg and "flag" not in static.cfg
    assert static.cfg["secret"] == "/default"  # the environment is never read
    lines = sorted(i.line for i in static.issues)
    assert lines == [2, 4, 6, 8, 9], static.issues


@pytest.mark.parametrize("body", ["x = [0] * (10 ** 9)\n", "x = 10 ** 10 ** 10\n",
                                  "x = [i for i in range(10 ** 9)]\n",
                                  "x = [a for a in range(100000) for b in range(100000)]\n"])
def test_the_reader_itself_cannot_be_exhausted(tmp_path, body):
    static = read_static(write(tmp_path, "bomb.py", body))
    assert "x" not in static.cfg and static.issues, static.issues
    assert MAX_SEQUENCE <= 10 ** 6


def test_errors_that_stop_reading(tmp_path):
    write(tmp_path, "a.py", "_base_ = ['b.py']\n")
    b = write(tmp_path, "b.py", "_base_ = ['a.py']\n")
    with pytest.raises(StaticConfigError, match="circular _base_ chain"):
        read_static(b)
    assert base_cycle(b, display=lambda p: Path(p).name) == "b.py -> a.py -> b.py"
    with pytest.raises(StaticConfigError, match="SyntaxError"):
        read_static(write(tmp_path, "bad.py", "model = dict(\n"))
    with pytest.raises(StaticConfigError, match="no such file"):
        read_static(write(tmp_path, "missing.py", "_base_ = 'nope.py'\n"))
    with pytest.raises(StaticConfigError, match="duplicate keys"):
        write(tmp_path, "d1.py", "x = 1\n")
        write(tmp_path, "d2.py", "x = 2\n")
        read_static(write(tmp_path, "dup.py", "_base_ = ['d1.py', 'd2.py']\n"))


def test_merge_refuses_dict_over_non_dict():
    with pytest.raises(TypeError):
        merge_into({"a": {"b": 1}}, {"a": 3})
    assert merge_into({"a": {"_delete_": True, "b": 1}}, {"a": 3}) == {"a": {"b": 1}}


def test_import_guard_refuses_modules_next_to_the_config(tmp_path, monkeypatch):
    marker = tmp_path / "imported.txt"
    write(tmp_path, "evil_module_for_guard.py", f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with refuse_local_imports([tmp_path]):
        with pytest.raises(ImportError, match="--no-exec"):
            __import__("evil_module_for_guard")
        import json  # noqa: F401 - the standard library stays importable
    assert not marker.exists()

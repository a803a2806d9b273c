"""Every key's history in the source map: the assignments that produced its value, in order,
with the ones ``_delete_``, a replaced list, a same-file reassignment or ``--cfg-options``
threw away; the type changes and list replacements read from it. Lines are found by reading
the config text, never hard-coded."""
from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from detaudit.load.history import KeyHistory
from detaudit.load.sourcemap import SourceMap

ZOO = Path(importlib.util.find_spec("mmdet").submodule_search_locations[0]) / ".mim" / "configs"


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if needle in line)


def write(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    out = {}
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
        out[rel] = p.resolve()
    return out


def history(path: Path, **options) -> KeyHistory:
    sm = SourceMap.from_file(path)
    if options:
        sm.add_cfg_options(options)
    return KeyHistory(sm.histories())


def trail(h: KeyHistory, key: str) -> list[tuple[str, int, str, object]]:
    return [(Path(a.file).name, a.line, a.status, a.value) for a in h.of(key)]


BASE = """\
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02,
                   momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
"""


def test_a_changed_type_keeps_the_base_keys_and_says_where_they_come_from(tmp_path):
    f = write(tmp_path, {"base.py": BASE, "child.py": """\
        _base_ = './base.py'
        optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
        """})
    h = history(f["child.py"])
    momentum = line_of(f["base.py"], "momentum=0.9")
    assert trail(h, "optim_wrapper.optimizer.momentum") == [("base.py", momentum, "set", 0.9)]
    child_line = line_of(f["child.py"], "Adam")
    assert trail(h, "optim_wrapper.optimizer.type") == [("base.py", line_of(f["base.py"], "'SGD'"), "overridden", "SGD"),
                                                        ("child.py", child_line, "set", "Adam")]
    assert h.of("optim_wrapper.optimizer.type")[0].by.line == child_line
    # the optimizer dict itself: the base's, merged into by the child's
    assert [a.status for a in h.of("optim_wrapper.optimizer")] == ["merged", "set"]
    origins = h.origins("optim_wrapper.optimizer")
    assert {k: (Path(a.file).name, a.line) for k, a in origins.items()} == {
        "type": ("child.py", child_line), "lr": ("child.py", child_line),
        "momentum": ("base.py", momentum), "weight_decay": ("base.py", momentum)}
    (change,) = SourceMap.from_file(f["child.py"]).type_changes()
    assert (change.key_path, change.old_type, change.new_type) == ("optim_wrapper.optimizer", "SGD", "Adam")
    assert {k: loc.line for k, loc in change.kept.items()} == {"momentum": momentum, "weight_decay": momentum}


def test_delete_discards_the_base_values_and_keeps_their_history(tmp_path):
    f = write(tmp_path, {"base.py": BASE, "child.py": """\
        _base_ = './base.py'
        optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-4))
        """})
    h = history(f["child.py"])
    delete_line = line_of(f["child.py"], "_delete_")
    (momentum,) = h.of("optim_wrapper.optimizer.momentum")
    assert (momentum.status, momentum.reason, momentum.by.line, momentum.value) == ("discarded", "_delete_=True",
                                                                                 delete_line, 0.9)
    assert h.final("optim_wrapper.optimizer.momentum") is None
    assert [(a.status, a.value) for a in h.of("optim_wrapper.optimizer.lr")] == [("discarded", 0.02),
                                                                                 ("set", 1e-4)]
    assert SourceMap.from_file(f["child.py"]).type_changes() == []


def test_a_replaced_list_discards_every_element_and_is_recorded(tmp_path):
    f = write(tmp_path, {"base.py": BASE, "child.py": """\
        _base_ = './base.py'
        param_scheduler = [dict(type='MultiStepLR', milestones=[16, 22])] * 2
        """})
    h = history(f["child.py"])
    lost = h.of("param_scheduler.0.start_factor")
    assert [(a.status, a.reason, a.value) for a in lost] == [("discarded", "list replaced", 0.001)]
    assert [a.status for a in h.of("param_scheduler.1.gamma")] == ["discarded"]
    assert h.final("param_scheduler.1.milestones").value == [16, 22]
    (r,) = SourceMap.from_file(f["child.py"]).replaced_lists()
    assert r.key_path == "param_scheduler" and r.loc.line == line_of(f["child.py"], "param_scheduler")
    assert [e.type for e in r.old] == ["LinearLR", "MultiStepLR"]
    assert [(e.type, e.keys) for e in r.new] == [("MultiStepLR", ["type", "milestones"])] * 2
    assert r.old[1].values["gamma"] == 0.1


def test_a_chain_of_bases_is_in_order_and_cfg_options_come_last(tmp_path):
    f = write(tmp_path, {"a.py": "lr = 0.1\nsched = [1, 2]\nopt = dict(lr=0.1, m=0.9)\n",
                         "b.py": "_base_ = './a.py'\nlr = 0.02\n",
                         "c.py": "_base_ = './b.py'\nlr = 0.01\n"})
    h = history(f["c.py"], lr=0.5, sched=[3], opt=dict(m=0.8))
    assert [(Path(a.file).name, a.status, a.value) for a in h.of("lr")] == [
        ("a.py", "overridden", 0.1), ("b.py", "overridden", 0.02), ("c.py", "overridden", 0.01),
        ("<cfg-options>", "set", 0.5)]
    assert h.of("lr")[-1].origin == "cfg-options"
    assert [(a.status, a.reason) for a in h.of("sched.1")] == [("discarded", "list replaced")]
    assert [a.value for a in h.of("opt.m")] == [0.9, 0.8]          # a dict option merges key by key
    assert h.final("opt.lr").value == 0.1


def test_reassigning_a_name_in_one_file_is_a_replacement(tmp_path):
    f = write(tmp_path, {"c.py": """\
        hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook'))
        hooks = dict(checkpoint=dict(save_best='auto'))
        """})
    h = history(f["c.py"])
    assert [(a.status, a.reason) for a in h.of("hooks.checkpoint.type")] == [("discarded", "replaced")]
    assert [a.status for a in h.of("hooks")] == ["overridden", "set"]


def test_read_base_updates_and_assignments_keep_the_imported_values(tmp_path, monkeypatch):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/base.py": BASE, "pkg/child.py": """\
        from mmengine.config import read_base

        with read_base():
            from .base import *

        optim_wrapper.optimizer.update(dict(type='AdamW', lr=1e-4))
        optim_wrapper['optimizer']['betas'] = (0.9, 0.999)
        """})
    monkeypatch.syspath_prepend(str(tmp_path))
    child = (tmp_path / "pkg" / "child.py").resolve()
    h = history(child)
    assert [(a.status, a.value) for a in h.of("optim_wrapper.optimizer.type")] == [("overridden", "SGD"),
                                                                                  ("set", "AdamW")]
    assert h.final("optim_wrapper.optimizer.betas").line == line_of(child, "betas")
    (change,) = SourceMap.from_file(child).type_changes()
    assert sorted(change.kept) == ["momentum", "weight_decay"]  # lr was restated with the type


def test_cascade_stages_replaced_by_one_repeated_dict():
    cfg = ZOO / "cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py"
    if not cfg.is_file():
        pytest.skip("cascade config not in this mmdet install")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        child = Path(tmp) / "child.py"
        child.write_text(f"_base_ = {str(cfg)!r}\n"
                         "model = dict(roi_head=dict(bbox_head=[dict(type='Shared2FCBBoxHead', num_classes=3)] * 3))\n")
        sm = SourceMap.from_file(child)
        (r,) = [r for r in sm.replaced_lists() if r.key_path == "model.roi_head.bbox_head"]
        assert len(r.old) == len(r.new) == 3
        assert all("bbox_coder" in e.keys and "reg_class_agnostic" in e.keys for e in r.old)
        assert all(e.keys == ["type", "num_classes"] for e in r.new)
        stds = KeyHistory(sm.histories()).of("model.roi_head.bbox_head.2.bbox_coder.target_stds")
        assert [(a.status, a.reason) for a in stds] == [("discarded", "list replaced")]
        assert a_value(stds) == [0.033, 0.033, 0.067, 0.067]


def a_value(items):
    return items[-1].value


@pytest.mark.parametrize("rel", ["faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py",
                                 "mask_rcnn/mask-rcnn_r50_fpn_ms-poly-3x_coco.py",
                                 "yolox/yolox_s_8xb8-300e_coco.py",
                                 "pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py"])
def test_every_loaded_key_ends_with_the_assignment_the_map_locates(rel):
    """On real zoo configs: each key the loaded config has ends its history with a ``set``
    assignment at the location the map gives, and no key the config lacks ends ``set``."""
    from mmengine.config import Config

    path = ZOO / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in this mmdet install")
    sm = SourceMap.from_file(path)
    h = KeyHistory(sm.histories())
    loaded = Config.fromfile(str(path)).to_dict()

    def flat(d, prefix=""):
        for k, v in (d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, (list, tuple)) else ()):
            p = f"{prefix}.{k}" if prefix else str(k)
            yield p
            yield from flat(v, p)

    keys = set(flat(loaded))
    for key in keys:
        final = h.final(key)
        if final is None:  # inside an expression the syntax tree cannot expand (a comprehension)
            parent = key
            while parent and h.final(parent) is None:
                parent = parent.rpartition(".")[0]
            assert parent and not h.final(parent).literal and h.final(parent).kind == "value", key
            continue
        loc = sm.locate(key)
        assert (final.file, final.line) == (loc.file, loc.line), key
    for key in h.paths():
        if h.final(key) is not None and key.split(".")[0] in loaded:
            assert key in keys, key

"""mmengine's lookup of ``scope::path`` bases in the package's model index, read once per process
(detaudit/load/model_index.py): the same answer as mmengine's own function, without reading the
metafiles again."""
from __future__ import annotations

import importlib.util
import os

import pytest


@pytest.fixture()
def mmdet_path() -> str:
    return list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]


def answer(fn, package_path, name):
    try:
        return fn(package_path, name)
    except ValueError as exc:
        return ("ValueError", str(exc))


@pytest.mark.parametrize("name", ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco", "atss/atss_r50_fpn_1x_coco.py",
                                  "no_such/config"])
def test_the_remembered_lookup_answers_as_mmengine_does(mmdet_path, name):
    from detaudit.load import model_index

    original = model_index.mmengine_lookup()
    assert original is not model_index.cfg_metainfo
    assert answer(model_index.cfg_metainfo, mmdet_path, name) == answer(original, mmdet_path, name)


def test_metafiles_are_read_once_and_again_when_the_index_changes(tmp_path, monkeypatch):
    from detaudit.load import model_index

    mim = tmp_path / ".mim"
    mim.mkdir()
    (mim / "model-index.yml").write_text("Import:\n  - configs/a/metafile.yml\n")
    (mim / "configs" / "a").mkdir(parents=True)
    (mim / "configs" / "a" / "metafile.yml").write_text("Models:\n  - Name: a\n    Config: configs/a/a_1x.py\n")
    reads = []
    from mmengine import fileio

    real_load = fileio.load
    monkeypatch.setattr(fileio, "load", lambda path, *a, **k: reads.append(path) or real_load(path, *a, **k))
    assert model_index.cfg_metainfo(str(tmp_path), "a/a_1x.py")["Name"] == "a"
    assert model_index.cfg_metainfo(str(tmp_path), "a/a_1x.py")["Name"] == "a"
    # the index for the names read from the text, then the index and its one metafile parsed, once
    assert len(reads) == 3
    with pytest.raises(ValueError):
        model_index.cfg_metainfo(str(tmp_path), "a/other.py")
    assert len(reads) == 3  # a name the text does not list is answered from the names alone
    stat = os.stat(mim / "model-index.yml")
    os.utime(mim / "model-index.yml", (stat.st_atime, stat.st_mtime + 5))
    model_index.cfg_metainfo(str(tmp_path), "a/a_1x.py")
    assert len(reads) == 6


def test_the_names_read_from_the_text_are_the_parsed_tables_names(mmdet_path, tmp_path):
    from detaudit.load import model_index

    assert list(model_index._config_names(mmdet_path)) == list(model_index._table(mmdet_path))
    # a metafile the plain reading cannot follow (a flow mapping) is parsed instead
    mim = tmp_path / ".mim"
    (mim / "configs" / "b").mkdir(parents=True)
    (mim / "model-index.yml").write_text("Import:\n  - configs/b/metafile.yml\n")
    (mim / "configs" / "b" / "metafile.yml").write_text("Models:\n  - {Name: b, Config: configs/b/b_1x.py}\n")
    assert model_index._config_names(str(tmp_path)) is None
    assert model_index.cfg_metainfo(str(tmp_path), "b/b_1x.py")["Name"] == "b"


def test_loading_a_config_routes_mmengine_through_it(tmp_path):
    from mmengine.config import utils

    from detaudit.load.executed import load_executed

    child = tmp_path / "child.py"
    child.write_text("_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']\n")
    cfg = load_executed(child, display=str, read_files=lambda: [])
    assert cfg.model.type == "FasterRCNN"
    assert utils._get_cfg_metainfo.__module__ == "detaudit.load.model_index"


@pytest.mark.parametrize("package", ["mmdet", "mmengine", "torch", "yaml", "mmpretrain", "no_such_package_here"])
def test_the_package_checks_answer_as_mmengine_does(package):
    from mmengine.utils import package_utils

    from detaudit.load import model_index

    model_index.remember()

    def answer(fn):
        try:
            return fn(package)
        except Exception as exc:  # noqa: BLE001 - the kind of failure is part of the answer
            return type(exc).__name__

    assert model_index.is_installed(package) == package_utils.is_installed(package)
    assert answer(model_index.get_installed_path) == answer(package_utils.get_installed_path)

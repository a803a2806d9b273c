"""mmengine's config semantics, written once (detaudit/load/bases.py), seen through the three
readers that use them: the executed loader (mmengine itself), the source map and the
--no-exec reader. They must agree where separate copies of these rules used to disagree."""
from __future__ import annotations

from pathlib import Path

import pytest

from detaudit.load.bases import PLAIN, BaseError, is_pure_python, merge_into, merge_nested, resolve_base
from detaudit.load.sourcemap import SourceMap
from detaudit.load.static_reader import StaticConfigError, read_static


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def executed(path: Path):
    from mmengine.config import Config

    return Config.fromfile(str(path))


def test_a_with_other_than_read_base_is_refused_by_every_reader(tmp_path):
    """mmengine allows only `with read_base():` in a config. One copy of the rule took any
    `with` for a pure-Python config, another only `read_base()`; now all follow mmengine."""
    import ast

    path = write(tmp_path, "cfg.py", "x = 0\nwith open(__file__) as f:\n    x = 1\n"
                                     "model = dict(type='RetinaNet')\n")
    with pytest.raises(Exception, match="read_base"):
        executed(path)
    with pytest.raises(StaticConfigError, match="read_base") as err:
        read_static(path)
    assert err.value.line == 2
    with pytest.raises(BaseError):
        is_pure_python(ast.parse(path.read_text()))
    assert SourceMap.from_file(path).locate("model.type").line == 4  # the map still locates what it can


def test_a_scope_other_than_mmdet_resolves_the_same_in_every_reader(tmp_path, monkeypatch):
    """`scope::path` names `<package>/.mim/configs/path` for any scope mmengine knows. One copy
    resolved only `mmdet::`; a config based on another OpenMMLab package read differently."""
    packages = tmp_path / "site"
    write(packages, "mmyolo/__init__.py", "")
    write(packages, "mmyolo/.mim/model-index.yml", "Import: []\n")  # mmengine looks up metafiles first
    write(packages, "mmyolo/.mim/configs/_base_/tiny.py", "model = dict(type='YOLODetector', depth=0.33)\n")
    monkeypatch.syspath_prepend(str(packages))
    config = write(tmp_path / "work", "cfg.py", "_base_ = ['mmyolo::_base_/tiny.py']\nmodel = dict(depth=0.67)\n")

    assert resolve_base("mmyolo::_base_/tiny.py", config) == packages / "mmyolo/.mim/configs/_base_/tiny.py"
    expected = {"type": "YOLODetector", "depth": 0.67}
    loaded = dict(executed(config).model)
    assert loaded.pop("_scope_") == "mmyolo"  # mmengine marks what a scoped base built; the readers need not
    assert loaded == expected
    assert read_static(config).cfg["model"] == expected
    sm = SourceMap.from_file(config)
    assert sm.literal("model") == expected
    assert (Path(sm.locate("model.type").file).name, sm.locate("model.type").line) == ("tiny.py", 1)
    assert sm.locate("model.depth").line == 2


def test_an_unknown_scope_is_an_error_as_in_mmengine(tmp_path):
    config = write(tmp_path, "cfg.py", "_base_ = ['notmm::x.py']\n")
    with pytest.raises(Exception):
        executed(config)
    with pytest.raises(StaticConfigError, match="scope 'notmm'"):
        read_static(config)
    assert SourceMap.from_file(config).unresolved == [("notmm::x.py", str(config), 1)]


def test_merge_follows_mmengine_for_delete_and_type_clashes():
    from mmengine.config import Config

    cases = [({"a": {"b": 1}}, {"a": {"c": 2}}),
             ({"a": {"_delete_": True, "b": 1}}, {"a": {"c": 2}}),
             ({"a": {"_delete_": True, "b": 1}}, {"x": 1}),        # _delete_ where the base has no key
             ({"a": 1}, {"a": {"c": 2}})]
    for child, base in cases:
        assert merge_into(child, base, PLAIN) == Config._merge_a_into_b(dict(child), dict(base))
    with pytest.raises(TypeError):
        merge_into({"a": {"b": 1}}, {"a": 3}, PLAIN)
    with pytest.raises(TypeError):
        Config._merge_a_into_b({"a": {"b": 1}}, {"a": 3})


def test_configdict_merge_semantics():
    from mmengine.config import ConfigDict

    target = {"a": {"b": 1, "c": 2}, "d": 3}
    other = {"a": {"b": 5}, "e": 6}
    want = ConfigDict(target)
    want.merge(other)
    assert merge_nested(other, target, PLAIN) == want.to_dict()
    other = {"a": {"_delete_": True, "x": 1}}
    want = ConfigDict(target)
    want.merge(other)
    assert merge_nested(other, target, PLAIN) == want.to_dict()

"""The source text rules read of installed classes and functions (detaudit/facts/source_text.py): the
same text as ``inspect.getsource``, a class's read from one cached syntax tree per file."""
from __future__ import annotations

import inspect

import pytest


def _sample():
    from mmdet.utils import register_all_modules

    register_all_modules()
    from mmdet.registry import DATASETS, MODELS, TRANSFORMS

    out = []
    for registry in (MODELS, TRANSFORMS, DATASETS):
        classes = [c for c in registry.module_dict.values() if isinstance(c, type)]
        out += classes[::15]  # every 15th: nested, decorated and subclassed ones among them
    return out


def test_classes_and_their_methods_read_as_inspect_reads_them():
    from detaudit.facts.source_text import source_lines, source_of

    classes = _sample()
    assert len(classes) > 20
    for cls in classes:
        assert source_of(cls) == inspect.getsource(cls), cls
        assert source_lines(cls) == inspect.getsourcelines(cls), cls
        init = cls.__dict__.get("__init__")
        if init is not None:
            assert source_of(init) == inspect.getsource(init), cls


def test_a_class_made_at_run_time_goes_to_inspect():
    from detaudit.facts.source_text import source_of

    made = type("Made", (), {})
    with pytest.raises((OSError, TypeError)):
        source_of(made)

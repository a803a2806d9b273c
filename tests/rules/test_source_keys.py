"""The config key a line of a config file writes (what DA001 names when a config cannot load)."""
from __future__ import annotations

import textwrap

import pytest

from detaudit.rule.source_keys import key_at_line, key_at_syntax_error

CONFIG = textwrap.dedent("""\
    data_root = 'data/'
    model = dict(
        data_preprocessor=dict(
            [1, 2, 3], std=[4, 5, 6]),
        roi_head=dict(bbox_head=dict(num_classes=2)))
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(1333, 800)),
    ]
    train_dataloader = {'dataset': {
        'pipeline': train_pipeline}}
    """)


def test_the_innermost_key_a_line_writes_alone(tmp_path):
    path = tmp_path / "config.py"
    path.write_text(CONFIG)
    assert key_at_line(path, 1) == "data_root"
    assert key_at_line(path, 3) == "model.data_preprocessor"
    assert key_at_line(path, 4) == "model.data_preprocessor"  # several items on the line: their parent
    assert key_at_line(path, 5) == "model.roi_head.bbox_head.num_classes"
    assert key_at_line(path, 8) == "train_pipeline.1"
    assert key_at_line(path, 11) == "train_dataloader.dataset.pipeline"


def test_no_key_outside_assignments_or_for_an_unreadable_file(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("import os\nx = 1\n")
    assert key_at_line(path, 1) is None
    assert key_at_line(path, None) is None
    assert key_at_line(tmp_path / "missing.py", 1) is None
    (tmp_path / "broken.py").write_text("model = dict(\n")
    assert key_at_line(tmp_path / "broken.py", 1) is None


REPEATED = textwrap.dedent("""\
    train_dataloader = dict(
        batch_size=2,
        dataset=dict(
            type='MultiImageMixDataset',
            dataset=dict(data_root='data/'),
            type='CocoDataset',
            pipeline=[]))
    """)
NO_COMMA = textwrap.dedent("""\
    model = dict(
        backbone=dict(depth=50
                      frozen_stages=1))
    """)


def _syntax_error(path, text) -> SyntaxError:
    path.write_text(text)
    with pytest.raises(SyntaxError) as raised:
        compile(text, str(path), "exec")
    return raised.value


def test_a_syntax_error_names_the_key_being_written_where_the_file_stops_parsing(tmp_path):
    path = tmp_path / "config.py"
    err = _syntax_error(path, REPEATED)
    assert err.lineno == 6 and "repeated" in err.msg
    assert key_at_syntax_error(path, err.lineno, err.msg) == "train_dataloader.dataset.type"
    err = _syntax_error(path, NO_COMMA)  # a missing comma: the key written where it is missing
    assert key_at_syntax_error(path, err.lineno, err.msg) == "model.backbone.depth"
    err = _syntax_error(path, NO_COMMA.replace("depth=50", "depth=50)"))  # an extra bracket: nothing parses
    assert key_at_syntax_error(path, err.lineno, err.msg) is None
    path.write_text("model = dict(\n")
    assert key_at_syntax_error(path, 1, "'(' was never closed") is None
    assert key_at_syntax_error(tmp_path / "missing.py", 1, "") is None

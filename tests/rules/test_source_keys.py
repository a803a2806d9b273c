"""The config key a line of a config file writes (what DA001 names when a config cannot load)."""
from __future__ import annotations

import textwrap

from detaudit.rule.source_keys import key_at_line

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

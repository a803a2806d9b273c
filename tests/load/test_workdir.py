"""Reading an mmengine work dir as data: launches, records merged across a resume, checkpoint
order, the epoch length."""
from __future__ import annotations

import json
import os
import time

import pytest

from detaudit.load.workdir import WorkDirError, epoch_length, find_work_dir, numbers, training_records


def _launch(root, name, rows, log_lines=(), config="x = 1\n"):
    vis = root / name / "vis_data"
    vis.mkdir(parents=True)
    (vis / "scalars.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (vis / "config.py").write_text(config)
    if log_lines:
        (root / name / f"{name}.log").write_text("\n".join(log_lines) + "\n")


def _row(i, epoch=None, **values):
    row = {"lr": 0.01, "loss": 1.0 / i, "iter": i, "step": i, **values}
    if epoch is not None:
        row["epoch"] = epoch
    return row


def test_records_of_a_resumed_run_continue_the_first_launch_and_replace_overlaps(tmp_path):
    _launch(tmp_path, "20240101_120000", [_row(i, loss_a=1.0) for i in (1, 2, 3)] +
            [{"coco/bbox_mAP": 0.1, "step": 1}])  # a validation record: not training
    _launch(tmp_path, "20240102_090000", [_row(i, loss_a=2.0) for i in (3, 4)])
    wd = find_work_dir(tmp_path)
    records = training_records(wd)
    assert [r["iter"] for r in records.rows] == [1, 2, 3, 4]
    assert [r["loss_a"] for r in records.rows] == [1.0, 1.0, 2.0, 2.0]
    assert wd.config == tmp_path / "20240102_090000" / "vis_data" / "config.py"  # the newest launch's


def test_a_launch_folder_reads_that_launch_with_the_work_dirs_checkpoints(tmp_path):
    _launch(tmp_path, "20240101_120000", [_row(1)])
    _launch(tmp_path, "20240102_090000", [_row(2)])
    (tmp_path / "epoch_1.pth").write_bytes(b"x")
    wd = find_work_dir(tmp_path / "20240101_120000")
    assert wd.path == tmp_path and [launch.path.name for launch in wd.launches] == ["20240101_120000"]
    assert wd.checkpoints == [tmp_path / "epoch_1.pth"]


def test_checkpoints_in_training_order_and_the_last_one(tmp_path):
    _launch(tmp_path, "20240101_120000", [_row(1)])
    for name in ("epoch_10.pth", "epoch_2.pth", "best_coco_bbox_mAP_epoch_2.pth"):
        (tmp_path / name).write_bytes(b"x")
    wd = find_work_dir(tmp_path)
    assert [p.name for p in wd.checkpoints] == ["epoch_2.pth", "epoch_10.pth"]
    assert wd.last_checkpoint.name == "epoch_10.pth" and wd.first_checkpoint.name == "epoch_2.pth"
    # last_checkpoint names the file, with the path of the machine that wrote it
    (tmp_path / "last_checkpoint").write_text("/elsewhere/work_dirs/run/epoch_2.pth")
    assert find_work_dir(tmp_path).last_checkpoint == tmp_path / "epoch_2.pth"


def test_other_checkpoint_names_follow_their_modification_time(tmp_path):
    _launch(tmp_path, "20240101_120000", [_row(1)])
    old, new = tmp_path / "stage_a.pth", tmp_path / "latest.pth"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 100, now - 100))
    assert find_work_dir(tmp_path).last_checkpoint == new


def test_epoch_length_from_the_text_log_else_from_the_records(tmp_path):
    _launch(tmp_path, "20240101_120000", [_row(i, epoch=(i - 1) // 4 + 1) for i in (4, 8)],
            log_lines=["2024/01/01 - mmengine - INFO - Epoch(train)  [1][ 4/4]  lr: 1.0e-02"])
    wd = find_work_dir(tmp_path)
    assert epoch_length(wd, training_records(wd).rows) == 4
    (tmp_path / "20240101_120000" / "20240101_120000.log").unlink()
    wd = find_work_dir(tmp_path)
    rows = [_row(i, epoch=(i - 1) // 4 + 1) for i in (3, 4, 5, 9)]  # i=4 in epoch 1 and i=5 in epoch 2: L=4
    assert epoch_length(wd, rows) == 4
    assert epoch_length(wd, [_row(i, epoch=(i - 1) // 4 + 1) for i in (4, 8)]) is None  # 4..7 all fit
    assert epoch_length(wd, [_row(3)]) is None  # an iteration-based loop


def test_numbers_reads_non_finite_values_whichever_way_they_were_written():
    row = json.loads('{"a": NaN, "b": "inf", "c": 1, "d": true, "e": "text", "f": "-Infinity"}')
    out = numbers(row)
    assert set(out) == {"a", "b", "c", "f"} and out["b"] == float("inf") and out["f"] == float("-inf")


@pytest.mark.parametrize("setup, message", [
    (lambda p: p / "missing", "work dir not found"),
    (lambda p: p, "no training run found"),
])
def test_what_is_not_a_work_dir_says_what_was_looked_for(tmp_path, setup, message):
    with pytest.raises(WorkDirError, match=message):
        find_work_dir(setup(tmp_path))

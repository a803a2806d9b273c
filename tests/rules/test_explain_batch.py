"""A norm layer given one value per channel is explained by a training batch of one image."""
from __future__ import annotations

from detaudit.errors import ErrorInfo
from detaudit.rule.explain import explain

MESSAGE = "Expected more than 1 value per channel when training, got input size torch.Size([1, 64, 1, 1])"


def _cfg(batch_size):
    return {"model": {"type": "FasterRCNN", "backbone": {"type": "ResNeSt"}},
            "train_dataloader": {"batch_size": batch_size}}


def test_a_batch_of_one_is_the_key_to_edit():
    found = explain(_cfg(1), ErrorInfo("ValueError", MESSAGE), phase="loss")
    assert [e.key_path for e in found] == ["train_dataloader.batch_size"]
    assert "torch.Size([1, 64, 1, 1])" in found[0].message


def test_a_larger_batch_is_not_blamed():
    found = explain(_cfg(2), ErrorInfo("ValueError", MESSAGE), phase="loss")
    assert "train_dataloader.batch_size" not in [e.key_path for e in found]

"""Transforms are matched to the config key of the pipeline that holds them, through every wrapper."""
from mmengine.dataset import Compose
from mmengine.runner.runner import _SlicedDataset

from detaudit.facts.run.attribution import KeyIndex


class LoadImageFromFile:
    def __call__(self, results):
        return results


class RandomFlip(LoadImageFromFile):
    pass


class Leaf:
    def __init__(self):
        self.pipeline = Compose([LoadImageFromFile(), RandomFlip()])

    def __getitem__(self, i):
        return {}


class Repeat:
    """What a RepeatDataset or ClassBalancedDataset holds: one inner dataset, no pipeline."""

    def __init__(self, inner):
        self.dataset = inner

    def __getitem__(self, i):
        return self.dataset[i]


def _keys(index: KeyIndex) -> dict[str, str]:
    return {detail["transform"]: key for _, key, detail in index.keys.values() if "transform" in detail}


def test_sliced_wrapper_keeps_the_inner_level():
    # num_batch_per_epoch cuts the loader's dataset with a _SlicedDataset, whose __getattr__ passes
    # `.dataset` straight to the wrapper's inner dataset: the inner pipeline is still one level down
    index = KeyIndex()
    index.index_dataset(_SlicedDataset(Repeat(Leaf()), 2), "train_dataloader.dataset", cfg={})
    assert _keys(index) == {"LoadImageFromFile": "train_dataloader.dataset.dataset.pipeline.0",
                            "RandomFlip": "train_dataloader.dataset.dataset.pipeline.1"}


def test_sliced_plain_dataset():
    index = KeyIndex()
    index.index_dataset(_SlicedDataset(Leaf(), 2), "val_dataloader.dataset", cfg={})
    assert _keys(index)["RandomFlip"] == "val_dataloader.dataset.pipeline.1"

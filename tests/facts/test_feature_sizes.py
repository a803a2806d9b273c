"""The ``feature_sizes`` fact's recorder: what a prior-generating head receives, hooks removed after."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from detaudit.facts.feature_sizes import FeatureSizes, recording  # noqa: E402


class _Generator:
    def __init__(self, strides):
        self.strides = strides


class _Head(torch.nn.Module):
    def __init__(self, attr="prior_generator"):
        super().__init__()
        setattr(self, attr, _Generator([(4, 4), 8]))

    def forward(self, feats):
        return feats


class _Detector(torch.nn.Module):
    def __init__(self, attr="prior_generator"):
        super().__init__()
        self.backbone = torch.nn.Conv2d(3, 2, 3, stride=4, padding=1)
        self.head = _Head(attr)

    def forward(self, img):
        x = self.backbone(img)
        return self.head((x, x[..., ::2, ::2])), self.head((x,))  # the second call is not recorded


@pytest.mark.parametrize("attr", ["prior_generator", "square_anchor_generator"])
def test_the_first_call_of_each_head_is_recorded_and_the_hooks_removed(attr):
    model = _Detector(attr)
    names = {id(m): n for n, m in model.named_modules() if n}
    seen = FeatureSizes()
    with recording(model, names, seen):
        model(torch.zeros(1, 3, 64, 96))
    assert seen.input == (64, 96)
    assert seen.heads["head"].sizes == [(16, 24), (8, 12)]
    assert seen.heads["head"].strides == [(4.0, 4.0), (8.0, 8.0)]
    assert seen.heads["head"].generator == attr
    assert not model.head._forward_pre_hooks and not model.backbone._forward_pre_hooks


def test_a_head_without_feature_maps_is_not_recorded():
    model = _Detector()
    names = {id(m): n for n, m in model.named_modules() if n}
    seen = FeatureSizes()
    with recording(model, names, seen):
        model.head("not a tensor list")
    assert seen.heads == {} and seen.input is None

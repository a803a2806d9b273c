"""detaudit.testing.assert_frozen on built models and on configs."""
from __future__ import annotations

import copy
import re

import pytest

from detaudit.testing import assert_frozen

from integ_helpers import ROOT, TINY_BASE


@pytest.fixture(scope="module")
def build():
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    base = Config.fromfile(str(TINY_BASE))

    def make(**backbone):
        cfg = copy.deepcopy(base)
        cfg.model.backbone.update(backbone)
        return MODELS.build(cfg.model)

    return make


def test_lr_mult_only_freeze_fails_with_count_and_fix(build):
    # What an lr_mult=0 "freeze" leaves: the model itself still trains everything but stem+layer1.
    model = build()
    with pytest.raises(AssertionError) as info:
        assert_frozen(model, "backbone")
    text = str(info.value)
    assert "backbone: 11,019,008 of 11,176,512 parameters are trainable" in text
    assert re.search(r"\(45 tensors with requires_grad=True: backbone\.layer2\.0\.conv1\.weight, ", text)
    assert "intent: assert_frozen(model, 'backbone')" in text
    assert "fix: set requires_grad=False on backbone (for mmdet ResNet: frozen_stages=4, norm_eval=True)" in text
    assert "lr_mult=0" in text and "BatchNorm" not in text.split("fix:")[0]


def test_truly_frozen_model_passes(build):
    model = build(frozen_stages=4, norm_eval=True)
    model.eval()
    assert_frozen(model, "backbone")
    assert not model.training, "the model's modes are restored after the check"


def test_bn_layers_left_in_train_mode_fail_by_name(build):
    model = build(norm_eval=False)  # frozen_stages=1 keeps stem+layer1 in eval: 15 of 20 BN layers train
    for p in model.backbone.parameters():  # the hand-made freeze that forgets BatchNorm
        p.requires_grad_(False)
    with pytest.raises(AssertionError) as info:
        assert_frozen(model, "backbone")
    text = str(info.value)
    assert "1 problem(s)" in text and "parameters are trainable" not in text
    assert "backbone: 15 BatchNorm layers are in train mode after model.train()" in text
    assert "backbone.layer2.0.bn1" in text and "(7 more)" in text and "norm_eval=True" in text
    model.eval()  # checked as it is, an eval-mode model passes
    assert_frozen(model, "backbone", train_mode=False)


def test_unknown_module_and_no_module(build):
    model = build()
    with pytest.raises(AssertionError, match=r"backbon: no such module in FasterRCNN \(top-level modules: "):
        assert_frozen(model, "backbon")
    with pytest.raises(TypeError, match="at least one module"):
        assert_frozen(model)


def test_config_frozen_only_by_lr_mult(monkeypatch):
    config = ROOT / "tests" / "fixtures" / "rules" / "DA102" / "fires_lr_mult.py"
    monkeypatch.chdir(config.parent)
    with pytest.raises(AssertionError) as info:
        assert_frozen(config.name, "backbone", input_size=(64, 96))
    text = str(info.value)
    assert text.startswith("assert_frozen(fires_lr_mult.py, 'backbone')")
    assert "DA102 expected-frozen-but-trainable: backbone: 11,019,008 of 11,176,512 parameters are trainable" in text
    assert "intent: lr_mult=0 (optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult)" in text
    assert "intent: assert_frozen" in text
    assert "fix: set model.backbone.frozen_stages=4 and norm_eval=True" in text

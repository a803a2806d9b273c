"""detaudit inside a project's own test suite (see README.md beside this file).

The project keeps its configs in ``configs/``; its pyproject.toml has::

    [tool.pytest.ini_options]
    detaudit_configs = "configs/*.py"

so plain ``pytest`` also audits every config as its own test item (``detaudit::configs/<name>.py``).
The tests below go further for the one config that matters most.
"""
import pytest

from detaudit.testing import assert_frozen

STAGE2 = "configs/stage2_kaist_domain_ft_fixed.py"


def test_stage2_backbone_is_truly_frozen():
    # Every backbone parameter has requires_grad=False after init_weights() and model.train(), and no
    # backbone BatchNorm layer is left in train mode. An lr_mult=0 "freeze" fails here, with the count
    # of trainable parameters and the fix in the message.
    assert_frozen(STAGE2, "backbone")


@pytest.mark.detaudit(config=STAGE2, expect_frozen=["backbone"])
def test_stage2_audits_clean(detaudit_report):
    # The marker has already failed the test if the audit found anything at the fail level; the
    # report is there for finer checks.
    (audit,) = detaudit_report.audits
    assert audit.status == "completed"
    assert audit.tiers["train"] == "ok"


def test_stage2_still_trains_the_heads(detaudit_audit):
    # Same arguments as the marker above: the session cache returns the same report.
    report = detaudit_audit(STAGE2, expect_frozen=["backbone"])
    modules = {row["path"]: row for row in report.audits[0].model["modules"]}
    assert modules["backbone"]["trainable"] == 0
    assert modules["rpn_head"]["trainable"] > 0 and modules["roi_head"]["trainable"] > 0


def test_a_model_built_in_the_test_is_frozen_too():
    # assert_frozen also takes an nn.Module you built yourself.
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    model = MODELS.build(Config.fromfile(STAGE2).model)
    assert_frozen(model, "backbone")

"""Declared in_channels read against the channels each component received in the loss pass."""
from detaudit.rule.explain_channels import declared_channels

CFG = {"model": {"backbone": {"type": "ResNet", "in_channels": 3},
                 "neck": {"type": "FPN", "in_channels": [256, 512, 1024, 2048]},
                 "rpn_head": {"type": "RPNHead", "in_channels": 256},
                 "roi_head": {"bbox_head": [{"type": "Shared2FCBBoxHead", "in_channels": 256}]}}}


def test_a_level_declared_wider_than_received():
    (e,) = declared_channels(CFG, {"neck": [256, 512, 1024, 1024]})
    assert e.key_path == "model.neck.in_channels"
    assert e.evidence["levels"] == [3] and e.evidence["received"] == [256, 512, 1024, 1024]
    assert "[256, 512, 1024, 1024]" in e.fix


def test_one_number_for_every_level():
    (e,) = declared_channels(CFG, {"rpn_head": [128] * 5})
    assert e.key_path == "model.rpn_head.in_channels" and "= 128" in e.fix


def test_listed_stage_head_by_module_name():
    (e,) = declared_channels(CFG, {"roi_head.bbox_head.0": [512]})
    assert e.key_path == "model.roi_head.bbox_head.0.in_channels"


def test_agreement_and_what_cannot_be_compared_stay_quiet():
    assert declared_channels(CFG, {"neck": [256, 512, 1024, 2048], "rpn_head": [256] * 5}) == []
    assert declared_channels(CFG, {"neck": [256, 512, 1024]}) == []       # level count: another explanation's
    assert declared_channels(CFG, {"rpn_head": [256, 128]}) == []         # mixed widths for one number
    assert declared_channels(CFG, {"backbone": [1]}) == []                # the image's channels: the loading's
    assert declared_channels(CFG, {"bbox_head": [7]}) == []               # no config dict at that name

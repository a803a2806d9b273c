"""The engine's facts: computed once, in the state training runs in, never downloading."""
from pathlib import Path

import pytest

import detaudit
from audit_helpers import ROOT
from detaudit.facts.forward import batch_size, synthetic_batch

TINY = ROOT / "tests/fixtures/rules/_base_/tiny_frcnn.py"


def test_audit_accepts_a_loaded_config_object():
    from mmengine.config import Config

    cfg = Config.fromfile(str(ROOT / "tests/fixtures/rules/DA101/fires.py"))
    report = detaudit.audit(cfg, select=["DA101"], tier="build", input_size=(64, 96))
    assert [f.code for f in report.findings] == ["DA101"]
    assert not report.ok
    assert '"code": "DA101"' in report.to_json()


def test_facts_are_computed_once_and_only_when_needed():
    from detaudit.facts.context import AuditContext

    ctx = AuditContext(str(TINY), input_size=(64, 96))
    assert ctx.cfg is ctx.cfg
    assert "model" not in ctx._facts  # loading does not build
    model = ctx.model
    assert ctx.model is model and model.training
    ctx.loss_result
    assert "predict_result" not in ctx._facts and "step_result" not in ctx._facts


def test_syncbn_is_converted_for_the_cpu_run():
    from torch.nn import SyncBatchNorm
    from torch.nn.modules.batchnorm import _BatchNorm

    from detaudit.facts.context import AuditContext

    ctx = AuditContext(str(ROOT / "tests/fixtures/configs/syncbn_tiny.py"), input_size=(64, 96))
    model = ctx.model
    assert not any(isinstance(m, SyncBatchNorm) for m in model.modules())
    assert any(isinstance(m, _BatchNorm) for m in model.modules())
    assert ctx.step_result.bn_drift  # the step ran with the converted layers


def test_uncached_pretrained_init_is_stripped_and_nothing_connects(monkeypatch):
    import socket

    from detaudit.facts.context import AuditContext

    attempts = []
    real_connect = socket.socket.connect

    def record(self, *args, **kwargs):
        attempts.append(args)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", record)
    ctx = AuditContext(str(ROOT / "tests/fixtures/rules/DA205/fires.py"), input_size=(64, 96))
    ctx.model
    assert attempts == []
    assert ctx.build_report.pretrained == [{"module": "backbone", "source": "torchvision://resnet18", "local": None,
                                "remote": True}]
    assert ctx.build_report.init_error is None


def test_cached_pretrained_init_is_loaded_from_the_cache(tmp_path, monkeypatch):
    import torch

    from detaudit.facts.context import AuditContext

    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    # a "torchvision" ResNet-18 whose stem weights are all 0.5: init_weights must load them
    from mmdet.models.backbones import ResNet

    state = ResNet(depth=18).state_dict()
    state["conv1.weight"] = torch.full_like(state["conv1.weight"], 0.5)
    torch.save(state, hub / "resnet18-f37072fd.pth")
    ctx = AuditContext(str(ROOT / "tests/fixtures/rules/DA205/fires.py"), input_size=(64, 96))
    assert torch.all(ctx.model.backbone.conv1.weight == 0.5)
    assert ctx.build_report.pretrained[0]["local"] == str(hub / "resnet18-f37072fd.pth")


@pytest.mark.parametrize("scale,expected", [((640, 512), (128, 160)), ((1333, 800), (96, 160)),
                                            ((512, 1024), (160, 96))])
def test_input_size_follows_the_test_pipeline_aspect_ratio(scale, expected):
    from types import SimpleNamespace

    from mmengine.config import Config

    from detaudit.facts.synthetic import derive_input_size

    cfg = Config(dict(test_pipeline=[dict(type='LoadImageFromFile'), dict(type='Resize', scale=scale, keep_ratio=True)]))
    model = SimpleNamespace(data_preprocessor=SimpleNamespace(pad_size_divisor=32))
    assert derive_input_size(cfg, model, 160) == expected


@pytest.mark.parametrize("pad,divisor,expected", [((1280, 720), 1, (96 + 16, 160)), ((1280, 720), 32, (96, 160)),
                                                   ((1280, 736), 1, (96, 160)), ((300, 300), 1, (160 + 12, 160 + 12))])
def test_an_exact_size_keeps_its_remainder_unless_the_preprocessor_pads_it_away(pad, divisor, expected):
    """A pipeline ending at one exact size the stride 32 does not divide: the small synthetic size
    keeps the remainder (so a neck's maps round as they will in training), unless the preprocessor
    pads to a multiple of 32 anyway."""
    from types import SimpleNamespace

    from mmengine.config import Config

    from detaudit.facts.synthetic import derive_input_size

    cfg = Config(dict(test_pipeline=[dict(type='LoadImageFromFile'),
                                     dict(type='Resize', scale=pad, keep_ratio=True), dict(type='Pad', size=pad)]))
    model = SimpleNamespace(data_preprocessor=SimpleNamespace(pad_size_divisor=divisor))
    assert derive_input_size(cfg, model, 160) == expected


def test_synthetic_batch_has_complete_metainfo_after_the_preprocessor():
    from detaudit.facts.context import AuditContext

    ctx = AuditContext(str(TINY), input_size=(64, 96))
    data = synthetic_batch(ctx, training=True)
    assert tuple(data["inputs"].shape) == (2, 3, 64, 96)
    for sample in data["data_samples"]:
        meta = sample.metainfo
        for key in ("img_shape", "ori_shape", "scale_factor", "pad_shape", "batch_input_shape"):
            assert key in meta, key
        assert len(sample.gt_instances) >= 1


def test_check_frozen_on_a_built_model():
    from detaudit.facts.context import AuditContext

    ctx = AuditContext(str(TINY), input_size=(64, 96))
    findings = detaudit.check_frozen(ctx.model, "backbone")
    (da102,) = [f for f in findings if f.code == "DA102"]
    assert da102.evidence["trainable"] == 11_019_008 and da102.evidence["total"] == 11_176_512
    for p in ctx.model.backbone.parameters():
        p.requires_grad = False
    ctx.model.backbone.eval()
    assert detaudit.check_frozen(ctx.model, "backbone") == []




def _zoo(rel):
    import mmdet

    path = Path(mmdet.__file__).parent / ".mim" / "configs" / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not shipped with this mmdet")
    return str(path)


def test_forward_tries_larger_inputs_and_reports_the_error_past_the_size_error():
    """SSD300's extra layers need more than 160 px (a kernel larger than the feature map); at
    320 px predict gets past them and meets mmdet 3.3.0's own SSDHead bug (no loss_cls
    attribute, open-mmlab/mmdetection#11780): a true finding, and not a size error, so no
    larger size is tried. (Both sizes keep 300's remainder by 32, 12: SSD300 tests at exactly 300.)"""
    report = detaudit.audit(_zoo("ssd/ssd300_coco.py"), select=["DA402"], tier="forward")
    (f,) = report.findings
    assert "'SSDHead' object has no attribute 'loss_cls'" in f.message and f.module_path == "bbox_head"
    assert f.evidence["sizes_tried"] == ["172x172", "332x332"]
    assert f.evidence["input_size"] == [332, 332]


def test_heads_that_read_the_epoch_from_the_message_hub_train():
    """TOOD switches its assigner on the epoch the Runner publishes; the audit publishes it too."""
    report = detaudit.audit(_zoo("tood/tood_r50_fpn_1x_coco.py"), select=["DA403", "DA404"], tier="forward")
    assert report.findings == []
    assert "DA403" in report.audits[0].ran


def test_semi_supervised_detectors_get_one_batch_per_branch():
    report = detaudit.audit(_zoo("soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py"),
                            select=["DA403", "DA404"], tier="forward")
    assert report.findings == [] and "DA403" in report.audits[0].ran
    losses = report.audits[0].losses
    assert "sup_loss_cls" in losses and "unsup_loss_cls" in losses


def test_skip_reason_names_the_forward_finding_only_when_it_is_reported():
    import detaudit

    config = str(ROOT / "tests/fixtures/rules/DA402/fires.py")

    def reasons(report):
        return {s["code"]: s["reason"] for s in report.audits[0].skipped}

    with_code = reasons(detaudit.audit(config, select=["DA402", "DA503"], tier="forward"))
    without = reasons(detaudit.audit(config, select=["DA503"], tier="forward"))
    assert with_code["DA503"].startswith("predict failed (DA402): ")
    assert without["DA503"].startswith("predict failed: ")


@pytest.mark.parametrize("train_bs,test_bs,expected", [(8, 1, (2, 1)), (1, None, (1, 2)), (4, 3, (2, 2))])
def test_passes_use_the_config_loaders_batch_size_capped_at_two(train_bs, test_bs, expected):
    from detaudit.facts.context import AuditContext

    options = {"train_dataloader.batch_size": train_bs}
    if test_bs is not None:
        options.update({"test_dataloader.batch_size": test_bs, "val_dataloader.batch_size": test_bs})
    ctx = AuditContext(str(TINY), cfg_options=options, input_size=(64, 96))
    if test_bs is None:  # no test or val loader at all: the default
        for name in ("test_dataloader", "val_dataloader"):
            ctx.cfg.pop(name, None)
    assert (batch_size(ctx.cfg, training=True), batch_size(ctx.cfg, training=False)) == expected
    assert len(ctx.predict_result) == expected[1]
    assert ctx.loss_result.values  # the loss ran at the training batch size


def test_per_image_counts_are_capped_for_the_synthetic_passes_only():
    from detaudit.facts.context import AuditContext

    options = {"model.train_cfg.rcnn.sampler.num": 512, "model.test_cfg.rpn.max_per_img": 1000,
               "model.train_cfg.rpn_proposal.nms_pre": 150,
               "model.data_preprocessor.batch_augments": [dict(type="BatchFixedSizePad", size=(1024, 1024))]}
    ctx = AuditContext(str(TINY), cfg_options=options, input_size=(64, 96))
    model = ctx.model
    assert sorted(ctx.build_report.synthetic_caps) == [("model.data_preprocessor.batch_augments.0.size", (1024, 1024), (160, 160)),
                                          ("model.test_cfg.rpn.max_per_img", 1000, 100),
                                          ("model.train_cfg.rcnn.sampler.num", 512, 64)]
    assert model.roi_head.bbox_sampler.num == 64 and model.test_cfg.rpn.max_per_img == 100
    assert tuple(model.data_preprocessor.batch_augments[0].size) == (160, 160)
    # what the rules read is the config as written
    assert ctx.cfg.model.train_cfg.rcnn.sampler.num == 512
    assert ctx.cfg.model.test_cfg.rpn.max_per_img == 1000
    assert tuple(ctx.cfg.model.data_preprocessor.batch_augments[0].size) == (1024, 1024)
    assert ctx.cfg.model.train_cfg.rpn_proposal.nms_pre == 150  # under the cap: untouched
    assert ctx.loss_result.values and ctx.predict_result


def test_step_drops_only_gradients_no_group_can_move():
    import torch

    from detaudit.facts.step import _drop_grads_the_step_cannot_use

    frozen_by_lr, moving, also_moving = (torch.nn.Parameter(torch.ones(3)) for _ in range(3))
    opt = torch.optim.SGD([{"params": [frozen_by_lr], "lr": 0.0}, {"params": [moving, also_moving], "lr": 0.1},
                           {"params": [], "lr": 0.0}], lr=0.1, momentum=0.9)
    for p in (frozen_by_lr, moving, also_moving):
        p.grad = torch.ones(3)
    _drop_grads_the_step_cannot_use(opt, [frozen_by_lr, moving, also_moving])
    assert frozen_by_lr.grad is None and moving.grad is not None and also_moving.grad is not None
    opt.step()
    assert frozen_by_lr not in opt.state and moving in opt.state  # no momentum for what cannot move
    assert torch.equal(frozen_by_lr.detach(), torch.ones(3)) and not torch.equal(moving.detach(), torch.ones(3))

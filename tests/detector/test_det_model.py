"""The full model built from the example configs, fed with auditor-style single-modality batches."""
import math

import pytest
import torch
from det_helpers import auditor_batch, build_model
from mmengine.optim import build_optim_wrapper

from detector import MultiSpectralFasterRCNN

STAGE2 = 'stage2_kaist_domain_ft.py'
STAGE2_FIXED = 'stage2_kaist_domain_ft_fixed.py'
AUX_PREFIXES = ('neck.msp_module.', 'roi_head.macl_head.', 'roi_head.domain_classifier.')


def _group(name: str) -> str:
    for prefix, group in (('neck.msp_module.', 'msp'), ('roi_head.macl_head.', 'macl'),
                          ('roi_head.domain_classifier.', 'domain')):
        if name.startswith(prefix):
            return group
    return name.split('.')[0]


def test_stage2_parameter_table_matches_the_report():
    model, _ = build_model(STAGE2)
    total, trainable = {}, {}
    for name, p in model.named_parameters():
        g = _group(name)
        total[g] = total.get(g, 0) + p.numel()
        trainable[g] = trainable.get(g, 0) + (p.numel() if p.requires_grad else 0)
    assert total['backbone'] == 23_508_032
    assert trainable['backbone'] == 23_282_688  # frozen_stages=1 freezes only stem + layer1
    assert total['backbone'] - trainable['backbone'] == 225_344
    assert total['neck'] == 3_344_384  # FPN, without MSP
    assert total['rpn_head'] == 593_935
    assert total['roi_head'] == 13_901_830  # bbox head, without MACL / domain classifier
    assert total['msp'] == 515
    assert total['macl'] == 49_665
    assert total['domain'] == 33_154
    assert round(sum(total.values()) / 1e6, 1) == 41.4
    params = dict(model.named_parameters())
    assert params['neck.msp_module.alpha'].item() == pytest.approx(0.5)
    assert params['roi_head.macl_head.tau'].item() == pytest.approx(0.07)
    assert params['roi_head.macl_head.proj.0.weight'].numel() == 32_768
    assert 'roi_head.macl_head.proj.3.weight' in params
    buffers = dict(model.named_buffers())
    assert buffers['roi_head.dhn_sampler.queue'].shape == (8192, 128)
    assert not any('dhn_sampler' in n for n in params)
    assert isinstance(model, MultiSpectralFasterRCNN) and model.roi_head.lambda2 == 0.5


def test_single_modality_batch_loss_predict_and_step():
    """The auditor's batch: no modality/domain metainfo, 96x160, batch 2."""
    model, cfg = build_model(STAGE2)
    data = model.data_preprocessor(auditor_batch(), True)
    losses = model(**data, mode='loss')
    for key in ('loss_macl', 'loss_dhn', 'loss_domain', 'loss_cls', 'loss_bbox'):
        assert key in losses
    total, log_vars = model.parse_losses(losses)
    assert all(math.isfinite(float(v)) for v in log_vars.values()), log_vars

    params = dict(model.named_parameters())
    macl = [params[n] for n in ('roi_head.macl_head.proj.0.weight',
                                'roi_head.macl_head.proj.3.weight', 'roi_head.macl_head.tau')]
    dom = [p for n, p in params.items() if n.startswith('roi_head.domain_classifier.')]
    neck = [params['neck.fpn_convs.0.conv.weight']]

    def grads(loss, ps):
        return torch.autograd.grad(loss, ps, retain_graph=True, allow_unused=True)

    for key in ('loss_macl', 'loss_dhn'):
        g = grads(losses[key], macl + dom)
        assert all(x is not None and x.abs().sum() > 0 for x in g[:3]), key
        assert all(x is None for x in g[3:]), f'{key} must not reach the domain classifier'
    g = grads(losses['loss_domain'], dom + neck + macl)
    assert all(x is not None and x.abs().sum() > 0 for x in g[:len(dom) + 1])
    assert all(x is None for x in g[len(dom) + 1:]), 'loss_domain must not reach MACL'

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in params.items() if n.startswith(AUX_PREFIXES)}
    optim_wrapper.backward(total)
    # lr_mult=0 does not freeze: 23.28 M backbone parameters still take part in backward
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['backbone'].lr_mult == 0.0
    assert sum(p.numel() for n, p in params.items()
               if n.startswith('backbone.') and p.grad is not None) == 23_282_688
    for name, p in params.items():
        if not name.startswith(AUX_PREFIXES):
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name != 'roi_head.macl_head.proj.0.bias':  # feeds BatchNorm: gradient is ~0 by design
            assert p.grad.abs().sum() > 0, name
    optim_wrapper.step()
    for name, value in before.items():
        if name != 'roi_head.macl_head.proj.0.bias':
            assert not torch.equal(value, params[name].detach()), f'{name} did not move'
    assert model.roi_head.dhn_sampler.num_filled > 0

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(auditor_batch(seed=1), False), mode='predict')
    assert len(results) == 2
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4 and bool((pred.labels == 0).all())
    assert model.roi_head.dhn_sampler.num_filled > 0  # predict leaves the queue alone


def test_domain_metainfo_and_default():
    model, _ = build_model(STAGE2)
    batch = auditor_batch()
    batch['data_samples'][1].set_metainfo(dict(domain='llvip', modality='visible'))
    assert model.roi_head._domain_labels(batch['data_samples']) == [1, 0]
    batch['data_samples'][0].set_metainfo(dict(domain='coco'))
    with pytest.raises(ValueError, match='unknown domain'):
        model.roi_head._domain_labels(batch['data_samples'])


def test_fixed_stage2_backbone_bitwise_unchanged_after_a_training_step():
    model, cfg = build_model(STAGE2_FIXED, rcnn_samples=128)
    assert 'paramwise_cfg' not in cfg.optim_wrapper
    assert cfg.model.backbone.frozen_stages == 4 and cfg.model.backbone.norm_eval
    assert not any(p.requires_grad for p in model.backbone.parameters())
    backbone_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    heads = ('rpn_head.rpn_conv.weight', 'roi_head.bbox_head.fc_cls.weight',
             'roi_head.bbox_head.shared_fcs.0.weight', 'neck.fpn_convs.0.conv.weight',
             'neck.msp_module.alpha', 'roi_head.macl_head.proj.0.weight', 'roi_head.macl_head.tau',
             'roi_head.domain_classifier.classifier.0.weight')
    params = dict(model.named_parameters())
    heads_before = {n: params[n].detach().clone() for n in heads}
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(auditor_batch(), optim_wrapper)
    for key in ('loss_macl', 'loss_dhn', 'loss_domain'):
        assert math.isfinite(float(log_vars[key])), key
    for key, value in model.backbone.state_dict().items():  # parameters and BN statistics
        assert torch.equal(value, backbone_before[key]), f'backbone.{key} changed'
    for name in heads:
        assert not torch.equal(params[name].detach(), heads_before[name]), f'{name} did not train'

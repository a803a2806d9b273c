"""Unit tests of MSP, MACL, DHN and the domain classifier (no data, no full model)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS

from detector import (DHNSampler, DomainClassifier, MACLHead, MSPReweight, PairedBatchError,
                      grad_reverse)


# ---------------------------------------------------------------------- MSP
def test_msp_has_515_parameters_and_alpha_half():
    msp = MSPReweight(channels=256)
    assert sum(p.numel() for p in msp.parameters()) == 515
    assert msp.alpha.numel() == 1 and msp.alpha.item() == pytest.approx(0.5)
    assert msp.alpha.requires_grad


def test_msp_reweights_with_attention_and_trains():
    torch.manual_seed(0)
    msp = MSPReweight(channels=8)
    x = torch.randn(2, 8, 10, 12)
    y = msp(x)
    att = msp.attention(x)
    assert att.shape == (2, 1, 10, 12) and bool(((att > 0) & (att < 1)).all())
    torch.testing.assert_close(y, x * (1 + 0.5 * att))
    y.square().sum().backward()
    for name, p in msp.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        msp.alpha.zero_()
    torch.testing.assert_close(msp(x), x)


def test_mspfpn_applies_one_shared_module_to_every_level():
    neck = MODELS.build(dict(type='MSPFPN', in_channels=[8, 16], out_channels=8, num_outs=3))
    names = [n for n, _ in neck.named_parameters() if 'msp' in n]
    assert names == ['msp_module.alpha', 'msp_module.avg_conv.weight', 'msp_module.avg_conv.bias',
                     'msp_module.max_conv.weight', 'msp_module.max_conv.bias']
    feats = (torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8))
    calls = []
    neck.msp_module.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    outs = neck(feats)
    assert len(outs) == 3 and len(calls) == 3


# ---------------------------------------------------------------------- MACL
def test_macl_projection_structure_and_tau():
    head = MACLHead()
    kinds = [type(m) for m in head.proj]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert head.proj[0].weight.numel() == 32768
    assert (head.proj[3].in_features, head.proj[3].out_features) == (128, 128)
    assert head.tau.item() == pytest.approx(0.07) and head.tau.requires_grad
    params = dict(head.named_parameters())
    assert 'proj.0.weight' in params and 'proj.3.weight' in params and 'tau' in params
    assert sum(p.numel() for p in head.parameters()) == 49665


def test_tau_is_kept_positive():
    head = MACLHead(min_tau=0.01)
    with torch.no_grad():
        head.tau.fill_(-3.0)
    assert head.temperature.item() == pytest.approx(0.01)
    with torch.no_grad():
        head.tau.fill_(0.2)
    assert head.temperature.item() == pytest.approx(0.2)


def _pair_feats(n=64, dim=256, noise=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, dim, generator=g)
    b = a + noise * torch.randn(n, dim, generator=g)
    return a, b


def test_macl_loss_lower_for_aligned_pairs_than_shuffled():
    torch.manual_seed(0)
    head = MACLHead()
    a, b = _pair_feats()
    ids = -torch.arange(1, a.size(0) + 1)
    aligned, _, _ = head.loss(a, ids, aux_roi_feats=b)
    shuffled, _, _ = head.loss(a, ids, aux_roi_feats=b[torch.randperm(a.size(0))])
    assert torch.isfinite(aligned) and torch.isfinite(shuffled)
    assert aligned.item() < shuffled.item() - 1.0
    aligned.backward()
    assert head.tau.grad is not None and head.tau.grad.abs() > 0
    assert head.proj[0].weight.grad.abs().sum() > 0


def test_macl_positive_modes():
    a, b = _pair_feats(n=16)
    ids = torch.tensor([0, 0, 1, 1] + [-(i + 1) for i in range(12)])
    with pytest.raises(PairedBatchError, match='paired'):
        MACLHead(positive_mode='modality').loss(a, ids)
    with pytest.raises(ValueError):
        MACLHead(positive_mode='sometimes')
    auto = MACLHead(positive_mode='auto')
    assert auto.resolve_mode(True) == 'modality' and auto.resolve_mode(False) == 'instance'
    assert MACLHead(positive_mode='instance').resolve_mode(True) == 'instance'
    for mode in ('auto', 'modality', 'instance'):
        loss, z, z_aux = MACLHead(positive_mode=mode).loss(a, ids, aux_roi_feats=b)
        assert torch.isfinite(loss) and z.shape == (16, 128) and z_aux.shape == (16, 128)
        torch.testing.assert_close(z.norm(dim=1), torch.ones(16))


def test_macl_instance_mode_pulls_same_instance_together():
    """Single-modality positives are RoIs of the same GT instance (and the GT box itself)."""
    torch.manual_seed(0)
    head = MACLHead()
    g = torch.Generator().manual_seed(1)
    centers = torch.randn(3, 256, generator=g) * 3
    roi_ids = torch.tensor([0, 0, 1, 1, 2, 2, -1, -2, -3, -4])
    bg = torch.randn(4, 256, generator=g) * 3
    rois = torch.cat([centers[roi_ids[:6]] + 0.1 * torch.randn(6, 256, generator=g), bg])
    gts = centers + 0.1 * torch.randn(3, 256, generator=g)
    gt_ids = torch.arange(3)
    good, _, _ = head.loss(rois, roi_ids, gt_feats=gts, gt_ids=gt_ids)
    wrong_ids = torch.tensor([0, 1, 2, 0, 1, 2, -1, -2, -3, -4])
    bad, _, _ = head.loss(rois, wrong_ids, gt_feats=gts, gt_ids=gt_ids)
    assert torch.isfinite(good) and good.item() < bad.item()
    # a foreground RoI whose only positive is its GT box still gives a loss and gradients
    lone, _, _ = head.loss(rois[:1].repeat(3, 1) + torch.randn(3, 256, generator=g),
                           torch.tensor([0, -1, -2]), gt_feats=gts[:1], gt_ids=gt_ids[:1])
    lone.backward()
    assert lone.item() > 0 and head.proj[3].weight.grad.abs().sum() > 0


# ---------------------------------------------------------------------- DHN
def _keys(n, dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, dim, generator=g), dim=1)


def test_dhn_state_is_buffers_not_parameters():
    dhn = DHNSampler()
    assert list(dhn.parameters()) == []
    state = dhn.state_dict()
    assert state['queue'].shape == (8192, 128)
    assert state['queue_labels'].shape == (8192, )
    for key in ('key_proj.0.weight', 'key_proj.1.running_mean', 'key_proj.3.weight', 'queue_ptr'):
        assert key in state


def test_dhn_queue_fifo_and_wraparound():
    dhn = DHNSampler(in_dim=4, hidden_dim=4, proj_dim=4, queue_size=10, top_k=3)
    a, b, c = _keys(4, seed=1), _keys(4, seed=2), _keys(4, seed=3)
    dhn.enqueue(a, torch.tensor([0, 0, 1, 1]))
    assert dhn.num_filled == 4 and int(dhn.queue_ptr) == 4
    torch.testing.assert_close(dhn.queue[:4], a)
    dhn.enqueue(b, torch.tensor([1, 1, 1, 1]))
    assert dhn.num_filled == 8 and int(dhn.queue_ptr) == 8
    dhn.enqueue(c, torch.tensor([0, 1, 0, 1]))  # 2 slots left: wraps onto the oldest entries
    assert dhn.num_filled == 10 and int(dhn.queue_ptr) == 2
    torch.testing.assert_close(dhn.queue[8:10], c[:2])
    torch.testing.assert_close(dhn.queue[0:2], c[2:])
    torch.testing.assert_close(dhn.queue[2:4], a[2:])  # survivors of the first batch
    assert dhn.queue_labels.tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 0, 1]
    big = _keys(25, seed=4)
    dhn.enqueue(big, torch.arange(25) % 2)
    assert set(map(tuple, dhn.queue.tolist())) == set(map(tuple, big[-10:].tolist()))


def test_dhn_mines_hardest_negatives_that_are_never_positives():
    torch.manual_seed(0)
    dhn = DHNSampler(in_dim=8, hidden_dim=8, proj_dim=8, queue_size=64, top_k=5)
    keys = _keys(64, dim=8, seed=5)
    labels = torch.arange(64) % 2
    dhn.enqueue(keys, labels)
    queries = _keys(12, dim=8, seed=6).requires_grad_()
    q_labels = torch.arange(12) % 2
    neg_sims, valid, index, cand_labels = dhn.mine(queries, q_labels)
    assert bool(valid.all())
    assert bool((cand_labels[index] != q_labels[:, None]).all())
    sims = queries.detach() @ keys.t()
    for i in range(12):  # exactly the 5 most similar entries of the other label
        allowed = (labels != q_labels[i]).nonzero().squeeze(1)
        best = allowed[sims[i, allowed].topk(5).indices]
        assert set(index[i].tolist()) == set(best.tolist())
    # with fewer negatives than top_k the missing slots are marked invalid
    dhn2 = DHNSampler(in_dim=8, hidden_dim=8, proj_dim=8, queue_size=8, top_k=5)
    dhn2.enqueue(keys[:4], torch.tensor([0, 0, 0, 1]))
    _, valid2, index2, cand2 = dhn2.mine(queries[:1], torch.tensor([0]))
    assert int(valid2.sum()) == 1 and int(cand2[index2[0][valid2[0]]]) == 1
    loss = dhn.loss(queries, _keys(12, dim=8, seed=7), q_labels, tau=torch.tensor(0.07))
    loss.backward()
    assert torch.isfinite(loss) and queries.grad.abs().sum() > 0


def test_dhn_momentum_copy_moves_toward_online_at_configured_rate():
    torch.manual_seed(0)
    head = MACLHead(in_dim=16, hidden_dim=8, proj_dim=8)
    dhn = DHNSampler(in_dim=16, hidden_dim=8, proj_dim=8, momentum=0.9)
    dhn.momentum_update(head.proj)  # first call: exact copy
    for name, p in head.proj.named_parameters():
        torch.testing.assert_close(dict(dhn.key_proj.named_buffers())[name], p.detach())
    before = {n: b.clone() for n, b in dhn.key_proj.named_buffers()}
    with torch.no_grad():
        for p in head.proj.parameters():
            p.add_(1.0)
    dhn.momentum_update(head.proj)
    after = dict(dhn.key_proj.named_buffers())
    for name, p in head.proj.named_parameters():
        expected = 0.9 * before[name] + 0.1 * p.detach()
        torch.testing.assert_close(after[name], expected)
        assert (after[name] - p).abs().sum() < (before[name] - p).abs().sum()


def test_dhn_queue_and_momentum_copy_survive_a_checkpoint(tmp_path):
    from mmengine.runner import load_checkpoint, save_checkpoint
    dhn = DHNSampler(in_dim=8, hidden_dim=8, proj_dim=8, queue_size=16)
    head = MACLHead(in_dim=8, hidden_dim=8, proj_dim=8)
    dhn.momentum_update(head.proj)
    dhn.enqueue(_keys(5, dim=8), torch.tensor([0, 1, 0, 1, 1]))
    path = str(tmp_path / 'dhn.pth')
    save_checkpoint(dhn.state_dict(), path)
    fresh = DHNSampler(in_dim=8, hidden_dim=8, proj_dim=8, queue_size=16)
    load_checkpoint(fresh, path, strict=True)
    for (n, a), (_, b) in zip(dhn.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), n
    assert fresh.num_filled == 5 and int(fresh.key_initialized) == 1


# ---------------------------------------------------------------------- domain
def test_gradient_reversal_flips_gradient_sign():
    x = torch.randn(5, 3, requires_grad=True)
    w = torch.randn(5, 3)
    (grad_reverse(x, 0.5) * w).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * w)
    torch.testing.assert_close(grad_reverse(x, 0.5), x)


def test_domain_classifier_reverses_feature_gradient_and_trains_itself():
    torch.manual_seed(0)
    clf = DomainClassifier(in_dim=16, hidden_dim=8, grl_strength=1.0)
    feats = torch.randn(6, 16, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    clf.loss(feats, labels).backward()
    reversed_grad = feats.grad.clone()
    feats.grad = None
    F.cross_entropy(clf.classifier(feats), labels).backward()
    torch.testing.assert_close(reversed_grad, -feats.grad)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in clf.parameters())


def test_domain_names_and_default():
    clf = DomainClassifier(domains=('llvip', 'kaist'), default_domain='kaist')
    assert clf.domain_index(None) == 1 and clf.domain_index('LLVIP') == 0
    assert clf.domain_index(0) == 0
    with pytest.raises(ValueError, match='unknown domain'):
        clf.domain_index('coco')
    assert sum(p.numel() for p in clf.parameters()) == 256 * 128 + 128 + 128 * 2 + 2

"""Synthetic data generator, LLVIP/KAIST datasets, paired pipeline and data errors."""
import filecmp
import os
import os.path as osp

import numpy as np
import pytest
import torch
from det_helpers import build_model, load_config
from mmdet.registry import DATASETS
from mmengine.dataset import pseudo_collate

from detector import (AnnotationError, DetectorDataError, EmptySplitError, MissingModalityError)
from detector.make_synthetic_data import _write_png, _write_voc_xml, main

SMALL = (160, 128)


def _llvip_cfg(root, pair=True, pipeline=None, split='train'):
    return dict(type='LLVIPDataset', data_root=osp.join(str(root), 'LLVIP'), split=split,
                return_modality_pair=pair, pipeline=pipeline or [])


def _kaist_cfg(root, pair=False, split='train', pipeline=None):
    return dict(type='KAISTDataset', data_root=osp.join(str(root), 'KAIST_processed'), split=split,
                return_modality_pair=pair, pipeline=pipeline or [])


# ---------------------------------------------------------------------- generator
def test_generator_is_deterministic_and_shaped(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    args = ['--llvip', '2,1', '--kaist', '2,1,1', '--seed', '3']
    assert main(['--root', str(a)] + args) == 0
    assert main(['--root', str(b)] + args) == 0
    cmp = filecmp.dircmp(a, b)
    names = []

    def walk(c, prefix=''):
        assert not c.left_only and not c.right_only and not c.diff_files, prefix
        names.extend(prefix + n for n in c.same_files)
        for sub, sc in c.subdirs.items():
            walk(sc, prefix + sub + '/')

    walk(cmp)
    for rel in ('LLVIP/visible/train/010001.png', 'LLVIP/infrared/test/190001.png',
                'LLVIP/Annotations/010002.xml', 'KAIST_processed/ImageSets/val.txt',
                'KAIST_processed/visible/set00_V000_I00000.png',
                'KAIST_processed/Annotations/set04_V000_I00000.xml'):
        assert rel in names, rel
    import cv2
    img = cv2.imread(str(a / 'LLVIP/visible/train/010001.png'))
    assert img.shape == (128, 160, 3)
    other = tmp_path / 'c'
    main(['--root', str(other), '--seed', '4'] + args[:4])
    assert not filecmp.cmp(a / 'LLVIP/visible/train/010001.png',
                           other / 'LLVIP/visible/train/010001.png', shallow=False)


def test_generator_never_overwrites_foreign_folders(tmp_path):
    (tmp_path / 'LLVIP').mkdir()
    (tmp_path / 'LLVIP' / 'real.jpg').write_bytes(b'x')
    assert main(['--root', str(tmp_path), '--datasets', 'llvip']) == 2
    assert (tmp_path / 'LLVIP' / 'real.jpg').exists()


# ---------------------------------------------------------------------- datasets
def test_llvip_and_kaist_load_with_modality_and_domain(synthetic_root):
    llvip = DATASETS.build(_llvip_cfg(synthetic_root))
    assert len(llvip) == 4
    info = llvip.get_data_info(0)
    assert info['domain'] == 'llvip' and info['modality'] == 'infrared'
    assert set(info['img_paths']) == {'visible', 'infrared'}
    assert info['img_path'] == info['img_paths']['infrared'] and '/infrared/train/' in info['img_path']
    assert info['instances'] and info['instances'][0]['bbox_label'] == 0
    assert llvip.metainfo['classes'] == ('person', )
    kaist = DATASETS.build(_kaist_cfg(synthetic_root, split='val'))
    assert len(kaist) == 2
    kinfo = kaist.get_data_info(0)
    assert kinfo['domain'] == 'kaist' and kinfo['modality_pair'] is False
    assert kinfo['img_id'].startswith('set02_')
    vis = DATASETS.build(dict(_kaist_cfg(synthetic_root), modality='visible', domain='custom'))
    assert '/visible/' in vis.get_data_info(0)['img_path']
    assert vis.get_data_info(0)['domain'] == 'custom'


def test_kaist_pairs_and_mixed_domains_through_the_pipeline(synthetic_root):
    pipeline = [dict(type='LoadMultiSpectralImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackMultiSpectralDetInputs')]
    pair = DATASETS.build(_kaist_cfg(synthetic_root, pair=True, pipeline=pipeline))[0]
    assert pair['inputs'].shape == (6, 128, 160)
    # visible and infrared halves are different images of the same scene
    assert not torch.equal(pair['inputs'][:3], pair['inputs'][3:])
    mixed = DATASETS.build(dict(type='ConcatDataset', datasets=[
        _llvip_cfg(synthetic_root, pair=False, pipeline=pipeline),
        _kaist_cfg(synthetic_root, pipeline=pipeline)]))
    domains = {mixed[i]['data_samples'].metainfo['domain'] for i in (0, len(mixed) - 1)}
    assert domains == {'llvip', 'kaist'}


def _write_marker_pair(root, stem='000001', box=(10, 20, 50, 100), size=(160, 128)):
    """An LLVIP tree with one image whose only person is a bright block at ``box`` in both
    modalities (red in visible, white in infrared)."""
    w, h = size
    for m in ('visible', 'infrared'):
        os.makedirs(osp.join(root, 'LLVIP', m, 'train'), exist_ok=True)
    os.makedirs(osp.join(root, 'LLVIP', 'Annotations'), exist_ok=True)
    x1, y1, x2, y2 = box
    vis = np.full((h, w, 3), 30, np.uint8)
    vis[y1:y2, x1:x2] = (0, 0, 255)
    ir = np.full((h, w), 40, np.uint8)
    ir[y1:y2, x1:x2] = 250
    _write_png(osp.join(root, 'LLVIP', 'visible', 'train', stem + '.png'), vis)
    _write_png(osp.join(root, 'LLVIP', 'infrared', 'train', stem + '.png'), ir)
    _write_voc_xml(osp.join(root, 'LLVIP', 'Annotations', stem + '.xml'), stem + '.png', 'LLVIP',
                   w, h, [box])


def _bright_box(channel: torch.Tensor, thr: float):
    ys, xs = torch.nonzero(channel > thr, as_tuple=True)
    return [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]


def test_paired_pipeline_applies_identical_geometry_to_both_modalities(tmp_path):
    _write_marker_pair(str(tmp_path))
    pipeline = [
        dict(type='LoadMultiSpectralImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(320, 256), keep_ratio=True),
        dict(type='RandomFlip', prob=1.0),
        dict(type='PackMultiSpectralDetInputs'),
    ]
    ds = DATASETS.build(_llvip_cfg(tmp_path, pipeline=pipeline))
    sample = ds[0]
    img = sample['inputs']
    meta = sample['data_samples'].metainfo
    assert img.shape == (6, 256, 320) and img.dtype == torch.uint8
    assert meta['flip'] and meta['modalities'] == ('visible', 'infrared')
    assert meta['modality_pair'] is True and meta['domain'] == 'llvip'
    gt = sample['data_samples'].gt_instances.bboxes.tensor[0].tolist()
    # original box x 10..50 at 2x scale is 20..100; flipped in a 320-wide image: 220..300
    assert gt == pytest.approx([220, 40, 300, 200])
    vis_box = _bright_box(img[2].float() - img[0].float(), 100)  # red channel (BGR order)
    ir_box = _bright_box(img[3].float(), 150)
    for found in (vis_box, ir_box):
        assert found == pytest.approx(gt, abs=2), (found, gt)


def test_paired_batch_trains_through_the_configured_pipeline(synthetic_root):
    """Stage-1 dataset (paired, stock Resize/RandomFlip) -> data preprocessor -> loss."""
    cfg = load_config('stage1_llvip_pretrain.py')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = osp.join(str(synthetic_root), 'LLVIP')
    ds_cfg.pipeline[2].scale = SMALL
    ds = DATASETS.build(ds_cfg)
    model, _ = build_model('stage1_llvip_pretrain.py', rcnn_samples=128)
    calls = []
    original = model.roi_head.macl_head.paired_loss
    model.roi_head.macl_head.paired_loss = lambda *a, **k: calls.append(1) or original(*a, **k)
    data = model.data_preprocessor(pseudo_collate([ds[0], ds[1]]), True)
    assert data['inputs'].shape[:2] == (2, 6)
    losses = model(**data, mode='loss')
    assert calls, 'paired batch must use cross-modal positives'
    total, log_vars = model.parse_losses(losses)
    for key in ('loss_macl', 'loss_dhn', 'loss_domain'):
        assert np.isfinite(float(log_vars[key])), key
    total.backward()
    assert model.roi_head.domain_classifier.classifier[0].weight.grad.abs().sum() > 0
    # both modalities' RoIs went into the queue
    assert model.roi_head.dhn_sampler.num_filled == 2 * 2 * 128


# ---------------------------------------------------------------------- errors
def test_malformed_xml_names_the_file(fresh_synthetic):
    ann = fresh_synthetic / 'KAIST_processed' / 'Annotations' / 'set00_V000_I00020.xml'
    ann.write_text('<annotation><object><name>person</name>')
    with pytest.raises(AnnotationError, match='set00_V000_I00020.xml.*not well-formed'):
        DATASETS.build(_kaist_cfg(fresh_synthetic))
    ann.write_text('<annotation><object><name>person</name><bndbox><xmin>a</xmin></bndbox>'
                   '</object></annotation>')
    with pytest.raises(AnnotationError, match='set00_V000_I00020.xml.*numeric'):
        DATASETS.build(_kaist_cfg(fresh_synthetic))
    ann.unlink()
    with pytest.raises(AnnotationError, match='set00_V000_I00020.xml is missing'):
        DATASETS.build(_kaist_cfg(fresh_synthetic))


def test_image_missing_in_one_modality_names_the_file(fresh_synthetic):
    (fresh_synthetic / 'LLVIP' / 'visible' / 'train' / '010002.png').unlink()
    with pytest.raises(MissingModalityError, match="'010002' has no visible image") as err:
        DATASETS.build(_llvip_cfg(fresh_synthetic, pair=True))
    assert 'infrared/train/010002.png' in str(err.value)
    # a single-modality (infrared) dataset does not need the visible file
    assert len(DATASETS.build(_llvip_cfg(fresh_synthetic, pair=False))) == 2
    (fresh_synthetic / 'KAIST_processed' / 'infrared' / 'set00_V000_I00000.png').unlink()
    with pytest.raises(MissingModalityError, match="set00_V000_I00000' has no infrared image"):
        DATASETS.build(_kaist_cfg(fresh_synthetic))


def test_empty_split_names_the_file(fresh_synthetic):
    split = fresh_synthetic / 'KAIST_processed' / 'ImageSets' / 'train.txt'
    split.write_text('\n# nothing here\n')
    with pytest.raises(EmptySplitError, match='ImageSets/train.txt is empty'):
        DATASETS.build(_kaist_cfg(fresh_synthetic))
    with pytest.raises(EmptySplitError, match='ImageSets/nosuch.txt does not exist'):
        DATASETS.build(_kaist_cfg(fresh_synthetic, split='nosuch'))
    for m in ('visible', 'infrared'):
        for f in (fresh_synthetic / 'LLVIP' / m / 'test').iterdir():
            f.unlink()
    with pytest.raises(EmptySplitError, match="split 'test' is empty: no images in .*test"):
        DATASETS.build(_llvip_cfg(fresh_synthetic, split='test'))
    assert issubclass(EmptySplitError, DetectorDataError)

"""A 2.x MaskFormer / Mask2Former head (transformer layer sequences) migrated: the head mmdet 3.3 builds from it
has the parameters of the same head written the 3.x way."""
from __future__ import annotations

import pytest

from detaudit.migrate.convert import convert

E = 32  # small dims: the head builds in a moment
LOSS = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, class_weight=[1.0] * 6)


def _attn(kind, **kw):
    return dict(type=kind, embed_dims=E, num_heads=2, batch_first=False, **kw)


def _ffn():
    return dict(embed_dims=E, feedforward_channels=64, num_fcs=2, ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))


def _seq(kind, layer_kind, attn, order, n=1, **kw):
    return dict(type=kind, num_layers=n, transformerlayers=dict(type=layer_kind, attn_cfgs=attn, ffn_cfgs=dict(type='FFN', **_ffn()),
                                                                 operation_order=order), init_cfg=None, **kw)


def _v2_head(kind):
    two = kind == 'Mask2FormerHead'
    enc_attn = _attn('MultiScaleDeformableAttention', num_levels=3, num_points=2) if two else _attn('MultiheadAttention')
    pixel = dict(type='MSDeformAttnPixelDecoder', num_outs=3) if two else dict(type='TransformerEncoderPixelDecoder')
    pixel.update(norm_cfg=dict(type='GN', num_groups=8), act_cfg=dict(type='ReLU'),
                 encoder=_seq('DetrTransformerEncoder', 'BaseTransformerLayer', enc_attn, ('self_attn', 'norm', 'ffn', 'norm')),
                 positional_encoding=dict(type='SinePositionalEncoding', num_feats=E // 2, normalize=True))
    order = (('cross_attn', 'norm', 'self_attn', 'norm', 'ffn', 'norm') if two
             else ('self_attn', 'norm', 'cross_attn', 'norm', 'ffn', 'norm'))
    head = dict(type=kind, in_channels=[8, 16, 32, 64], feat_channels=E, out_channels=E, num_things_classes=3,
                num_stuff_classes=2, num_queries=5, pixel_decoder=pixel, enforce_decoder_input_project=False, loss_cls=LOSS,
                positional_encoding=dict(type='SinePositionalEncoding', num_feats=E // 2, normalize=True),
                transformer_decoder=_seq('DetrTransformerDecoder', 'DetrTransformerDecoderLayer', _attn('MultiheadAttention'),
                                         order, n=2 if two else 1, return_intermediate=True))
    if two:
        head.update(strides=[4, 8, 16, 32], num_transformer_feat_level=3)
    return head


def _v3_head(kind):
    """The same head as mmdet 3.3's configs write it."""
    two = kind == 'Mask2FormerHead'
    enc_attn = dict(embed_dims=E, num_heads=2, batch_first=True, **(dict(num_levels=3, num_points=2) if two else {}))
    pixel = dict(type='MSDeformAttnPixelDecoder', num_outs=3) if two else dict(type='TransformerEncoderPixelDecoder')
    pixel.update(norm_cfg=dict(type='GN', num_groups=8), act_cfg=dict(type='ReLU'),
                 encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=enc_attn, ffn_cfg=_ffn())),
                 positional_encoding=dict(num_feats=E // 2, normalize=True))
    attn = dict(embed_dims=E, num_heads=2, batch_first=True)
    head = dict(type=kind, in_channels=[8, 16, 32, 64], feat_channels=E, out_channels=E, num_things_classes=3,
                num_stuff_classes=2, num_queries=5, pixel_decoder=pixel, enforce_decoder_input_project=False, loss_cls=LOSS,
                positional_encoding=dict(num_feats=E // 2, normalize=True),
                transformer_decoder=dict(return_intermediate=True, num_layers=2 if two else 1, layer_cfg=dict(
                    self_attn_cfg=attn, cross_attn_cfg=attn, ffn_cfg=_ffn())))
    if two:
        head.update(strides=[4, 8, 16, 32], num_transformer_feat_level=3)
    return head


@pytest.mark.parametrize("kind", ["MaskFormerHead", "Mask2FormerHead"])
def test_mask_heads_build_as_their_3x_form(kind):
    from mmdet.registry import MODELS
    from mmengine.config import ConfigDict
    from mmdet.utils import register_all_modules

    register_all_modules()
    out, notes = convert(dict(model=dict(type='Mask2Former', panoptic_head=_v2_head(kind))))
    head = out["model"]["panoptic_head"]
    assert "transformerlayers" not in head["transformer_decoder"] and "type" not in head["positional_encoding"]
    assert head["transformer_decoder"]["layer_cfg"]["self_attn_cfg"]["batch_first"] is True
    assert not notes
    shapes = [{n: tuple(p.shape) for n, p in MODELS.build(ConfigDict(h)).named_parameters()} for h in (head, _v3_head(kind))]
    assert shapes[0] == shapes[1] and len(shapes[0]) > 20


def test_an_operation_order_3x_does_not_implement_is_left_as_written():
    head = _v2_head('MaskFormerHead')
    head["transformer_decoder"]["transformerlayers"]["operation_order"] = ('norm', 'self_attn', 'norm', 'cross_attn',
                                                                           'norm', 'ffn')
    out, _ = convert(dict(model=dict(type='MaskFormer', panoptic_head=head)))
    assert out["model"]["panoptic_head"]["transformer_decoder"] == head["transformer_decoder"]
    assert "layer_cfg" in out["model"]["panoptic_head"]["pixel_decoder"]["encoder"]

"""The transformer of a 2.x MaskFormer / Mask2Former head, written the 3.x way.

2.x described a transformer encoder or decoder as a layer sequence (``type='DetrTransformerEncoder'``,
``transformerlayers=dict(attn_cfgs=..., ffn_cfgs=..., operation_order=...)``); 3.x's classes take
``num_layers`` and one ``layer_cfg`` (``self_attn_cfg``, ``cross_attn_cfg``, ``ffn_cfg``, ``norm_cfg``)
and fix the order of the operations themselves. 3.x builds the sequences, their attention and FFN
modules and the sine positional encodings of these heads directly, so the ``type`` keys go; its
attention modules take batch-first tensors (``batch_first=True``, which 3.x's layers require).
Only the operation orders 3.x's layers of that head implement are converted (T.MASK_HEADS); any
other is left as written.
"""
from __future__ import annotations

from . import tables as T


def mask_head(head: dict) -> dict:
    """A MaskFormerHead/Mask2FormerHead dict with its encoder, decoder and positional encodings converted."""
    orders = T.MASK_HEADS[head["type"]]
    head = dict(head)
    if isinstance(head.get("positional_encoding"), dict):
        head["positional_encoding"] = _positional(head["positional_encoding"])
    decoder = head.get("pixel_decoder")
    if isinstance(decoder, dict):
        decoder = dict(decoder)
        if isinstance(decoder.get("encoder"), dict):
            decoder["encoder"] = _sequence(decoder["encoder"], orders["encoder"])
        if isinstance(decoder.get("positional_encoding"), dict):
            decoder["positional_encoding"] = _positional(decoder["positional_encoding"])
        head["pixel_decoder"] = decoder
    if isinstance(head.get("transformer_decoder"), dict):
        head["transformer_decoder"] = _sequence(head["transformer_decoder"], orders["decoder"])
    return head


def _positional(cfg: dict) -> dict:
    if cfg.get("type") in T.MASK_HEAD_BUILT_DIRECTLY:
        cfg = {k: v for k, v in cfg.items() if k != "type"}
    return cfg


def _sequence(seq: dict, order: tuple) -> dict:
    """``type`` + ``transformerlayers`` -> ``layer_cfg`` (num_layers, return_intermediate, init_cfg kept)."""
    if "transformerlayers" not in seq or seq.get("type") not in T.MASK_HEAD_BUILT_DIRECTLY:
        return seq
    layer = _layer(seq["transformerlayers"], order)
    if layer is None:
        return seq
    out = {k: v for k, v in seq.items() if k not in ("type", "transformerlayers")}
    out["layer_cfg"] = layer
    return out


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) and value else value


def _layer(layer, order: tuple) -> dict | None:
    layer = _first(layer)  # 2.x allowed one config per layer; 3.x has one for all
    if not isinstance(layer, dict) or tuple(layer.get("operation_order") or ()) != order:
        return None
    attns = layer.get("attn_cfgs")
    names = [op for op in layer["operation_order"] if op in ("self_attn", "cross_attn")]
    attns = list(attns) if isinstance(attns, (list, tuple)) else [attns] * len(names)
    out = {}
    for name in ("self_attn", "cross_attn"):
        if name in names and isinstance(attns[names.index(name)], dict):
            cfg = {k: v for k, v in attns[names.index(name)].items() if k != "type"}
            cfg["batch_first"] = True
            out[f"{name}_cfg"] = cfg
    ffn = dict(_first(layer.get("ffn_cfgs")) or {})
    ffn.pop("type", None)
    if "feedforward_channels" not in ffn and "feedforward_channels" in layer:
        ffn["feedforward_channels"] = layer["feedforward_channels"]
    out["ffn_cfg"] = ffn
    for key in ("norm_cfg", "init_cfg"):
        if layer.get(key) is not None:
            out[key] = layer[key]
    return out

"""What a pretrained backbone checkpoint fixes of the backbone that loads it: the arguments that
shape its parameters (depth, widths, groups, norm layer type, embedding sizes...), read from every
mmdet zoo config that loads the same checkpoint. Shared by DA863 and
``scripts/zoo_checkpoint_architectures.py``, which writes the table.

An argument is compared as the constructor receives it: the value the config writes, else the
constructor's default (``ResNet``'s ``norm_cfg`` is ``BN`` unless the config says otherwise).
"""
from __future__ import annotations

from pathlib import Path

from detaudit.rule.config import is_mapping, node_type

from ._zoo_tables import learnt_table

TABLE = Path(__file__).with_name("zoo_checkpoint_architectures.json")
# Arguments that change the names or shapes of a backbone's parameters (not its outputs, strides,
# freezing or checkpointing, which load the same weights).
SHAPING = ("depth", "arch", "stem_channels", "base_channels", "groups", "base_width", "deep_stem", "stem_type",
           "norm_cfg.type", "embed_dims", "num_heads", "depths", "patch_size", "mlp_ratio", "widen_factor",
           "deepen_factor", "in_channels", "stage_blocks", "avg_down")


def pretrained_checkpoint(backbone) -> str | None:
    """The checkpoint of the backbone's ``init_cfg=dict(type='Pretrained', ...)``, or None."""
    init = backbone.get("init_cfg", None) if is_mapping(backbone) else None
    for entry in init if isinstance(init, (list, tuple)) else [init]:
        if is_mapping(entry) and entry.get("type", None) == "Pretrained" and not entry.get("prefix", None):
            ckpt = entry.get("checkpoint", None)
            if isinstance(ckpt, str) and ckpt.strip():
                return ckpt.strip()
    return None


# Norm layer types that hold the same parameters and statistics under the same names: a checkpoint
# trained with SyncBN loads into BN and back.
BATCH_NORMS = {"BN", "BN1d", "BN2d", "BN3d", "SyncBN", "NaiveSyncBN", "MMSyncBN", "TorchSyncBN"}


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def shaping_args(backbone, signature) -> dict:
    """Argument -> the value the backbone's constructor receives, for the shaping arguments it
    takes (written, else the constructor's default)."""
    out = {}
    defaults = signature.defaults if signature is not None else {}
    for key in SHAPING:
        head, _, sub = key.partition(".")
        if head in backbone:
            value = backbone[head]
        elif head in defaults:
            value = defaults[head]
        else:
            continue
        if sub:
            value = value.get(sub, None) if is_mapping(value) or isinstance(value, dict) else None
            if value is None:
                continue
        if key == "norm_cfg.type" and value in BATCH_NORMS:
            value = "BN"
        out[key] = _plain(value)
    out["type"] = node_type(backbone)
    return out


def zoo_table() -> dict:
    """checkpoint -> backbone type -> {"configs": n, "example": a zoo config, "shape": {argument:
    value}}: the arguments every zoo config building that type from that checkpoint gives the same
    value."""
    return learnt_table(TABLE, "checkpoints")

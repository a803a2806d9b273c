"""Checkpoints of the tiny fixture model, written at test time into a temporary folder.

The tiny Faster R-CNN (tests/fixtures/rules/_base_/tiny_frcnn.py) has ~12 M parameters, so
its checkpoints (~47 MB) are generated on demand instead of committed. Each name below is one
variant; ``GeneratedFiles.path(name)`` writes it the first time it is asked for. Rule
fixtures name them as ``{generated:NAME}`` in ``# fixture-args`` lines.
"""
from __future__ import annotations

from pathlib import Path

TINY_BASE = Path(__file__).parent / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"


def _build(**overrides):
    """The tiny model with config overrides (``{"model.neck.out_channels": 32}``)."""
    import torch
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.registry import MODELS

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(TINY_BASE))
    if overrides:
        cfg.merge_from_dict(overrides)
    torch.manual_seed(1)
    return MODELS.build(cfg.model)


def _mmengine_like(state_dict, classes, runner_state: bool = False) -> dict:
    """A checkpoint shaped like the ones mmengine writes: meta with dataset_meta and the
    state_dict. With ``runner_state``, also what the Runner adds (a message_hub with
    HistoryBuffers, numpy scalars in meta): the objects torch's default weights-only load
    refuses."""
    import numpy as np

    meta = {"epoch": 12, "iter": 120, "seed": 0, "mmengine_version": "0.10.7",
            "dataset_meta": {"classes": tuple(classes), "palette": [(220, 20, 60)] * len(classes)}}
    checkpoint = {"meta": meta, "state_dict": state_dict}
    if runner_state:
        from mmengine.logging import MessageHub

        hub = MessageHub.get_instance(f"tiny-checkpoint-{id(state_dict)}")
        hub.update_scalar("train/loss", 1.25)
        hub.update_scalar("train/lr", np.float64(0.01))
        hub.update_info("epoch", 12)
        meta["seed"] = np.int64(0)
        checkpoint["message_hub"] = hub.state_dict()
    return checkpoint


def _prefixed(state_dict, prefix):
    from collections import OrderedDict

    return OrderedDict((prefix + k, v) for k, v in state_dict.items())


def tiny_full(path):
    """As mmengine's Runner writes it, message_hub included."""
    import torch

    torch.save(_mmengine_like(_build().state_dict(), ["person"], runner_state=True), path)


def tiny_weights_only(path):
    """The same weights with tensors and plain meta only: loadable by a weights-only torch.load."""
    import torch

    torch.save(_mmengine_like(_build().state_dict(), ["person"]), path)


def tiny_ddp_prefix(path):
    """Saved from a DistributedDataParallel wrapper: every key starts with ``module.``,
    which mmengine's revision strips."""
    import torch

    torch.save(_mmengine_like(_prefixed(_build().state_dict(), "module."), ["person"]), path)


def tiny_model_prefix(path):
    """Saved from a wrapper holding the detector as ``.model``: ``model.backbone...``."""
    import torch

    torch.save(_mmengine_like(_prefixed(_build().state_dict(), "model."), ["person"]), path)


def tiny_neck32(path):
    """Another architecture: the same backbone, a 32-channel neck and heads."""
    import torch

    model = _build(**{"model.neck.out_channels": 32, "model.rpn_head.in_channels": 32,
                      "model.rpn_head.feat_channels": 32,
                      "model.roi_head.bbox_roi_extractor.out_channels": 32,
                      "model.roi_head.bbox_head.in_channels": 32})
    torch.save(_mmengine_like(model.state_dict(), ["person"]), path)


def tiny_3classes(path):
    """Trained on three classes: fc_cls and fc_reg differ in shape from the 1-class model."""
    import torch

    model = _build(**{"model.roi_head.bbox_head.num_classes": 3})
    torch.save(_mmengine_like(model.state_dict(), ["person", "car", "dog"]), path)


def tiny_car(path):
    """One class, like the tiny model, but a different one."""
    import torch

    torch.save(_mmengine_like(_build().state_dict(), ["car"]), path)


def tiny_backbone_moved(path):
    """``tiny_weights_only`` after a training that moved its backbone: one convolution's weights
    and one BatchNorm layer's running mean differ, everything else is bitwise the same."""
    import torch

    state = _build().state_dict()
    state["backbone.layer2.0.conv1.weight"] = state["backbone.layer2.0.conv1.weight"] + 1e-3
    state["backbone.layer2.0.bn1.running_mean"] = state["backbone.layer2.0.bn1.running_mean"] + 0.5
    torch.save(_mmengine_like(state, ["person"]), path)


def resnet18_backbone(path):
    """A backbone-only checkpoint with torchvision-style names (``layer1.0.conv1.weight``)."""
    import torch

    backbone = _build().backbone
    torch.save(backbone.state_dict(), path)


def not_a_checkpoint(path):
    Path(path).write_bytes(b"this is not a checkpoint\n" * 4)


GENERATORS = {f.__name__: f for f in (tiny_full, tiny_weights_only, tiny_ddp_prefix, tiny_model_prefix, tiny_neck32, tiny_3classes,
                                      tiny_car, tiny_backbone_moved, resnet18_backbone, not_a_checkpoint)}


class GeneratedFiles:
    """Files generated on first use into ``folder`` (a session temporary directory)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        if name not in GENERATORS:
            raise KeyError(f"no generated file named {name!r}; known: {sorted(GENERATORS)}")
        target = self.folder / f"{name}.pth"
        if not target.exists():
            tmp = target.with_suffix(".part")
            GENERATORS[name](tmp)
            tmp.replace(target)
        return target

    def expand(self, text: str) -> str:
        """Replace every ``{generated:NAME}`` in ``text`` by the path of that file."""
        import re

        return re.sub(r"\{generated:(\w+)\}", lambda m: str(self.path(m.group(1))), text)

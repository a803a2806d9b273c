from detaudit.rule import Violation, rule
from detaudit.rule.checkpoint_family import checkpoint_family, type_family
from detaudit.rule.conventions import (ARCH_QUOTE, ARCH_SOURCE, architecture, input_breaches, load_breaches,
                                       pretrained_checkpoint)


@rule(code="DA816", name="pretrained-source-mismatch", severity="warning", tier="static", needs=())
def pretrained_source_mismatch(ctx):
    """The backbone's pretrained checkpoint needs another input convention, conversion, key prefix or size than the config sets.

    ## What it does
    Reads the backbone's ``init_cfg`` checkpoint and checks what mmdet's own source and
    model-zoo configs state about it: the input its weights were trained on, its channel order,
    the order of the mean values and the std (RegNet's pycls
    and Detectron2's Caffe2 ResNeXt weights take BGR input with the BGR-ordered std; Detectron's
    GN ResNets BGR with unit std; Darknet-53 RGB divided by 255; the SSD VGG RGB with unit std;
    CSPNeXt's RSB weights BGR; OpenMMLab's ImageNet ResNeXt/Res2Net/GN-WS/MobileNetV2 RGB with
    the ImageNet std), how the file loads (the official Swin release needs
    ``convert_weights=True``, the official PVT release must not turn the conversion off, an
    OpenMMLab classifier or detector checkpoint needs ``init_cfg.prefix='backbone.'``) and the
    architecture its name states: the backbone family (a ResNeXt, Res2Net, ResNeSt, RegNet,
    HRNet, Swin, PVT, ConvNeXt, MobileNet, VGG... checkpoint on a backbone of another family,
    such as ``open-mmlab://resnext101_32x4d`` on a plain ``ResNet``), the ResNet depth, ResNeXt groups and width, RegNet ``arch``,
    Swin width and depths, HRNet width, PVT layers). ResNet's style and the conventions of
    torchvision's and Detectron's caffe ResNets are DA814's.

    ## Why is this bad?
    Nothing fails. mmengine loads a checkpoint non-strictly: keys that do not match, or whose
    shapes differ, are logged and skipped, and the backbone keeps its random initialisation;
    weights that do load but see inputs in another channel order or scale than they were
    trained on start from a worse point. Training runs either way, slower and lower.

    ## Example
    ```python
    model = dict(backbone=dict(
        type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2],
        init_cfg=dict(type='Pretrained', checkpoint='https://github.com/SwinTransformer/storage/releases/'
                      'download/v1.0.0/swin_tiny_patch4_window7_224.pth')))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(
        type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2], convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint='https://github.com/SwinTransformer/storage/releases/'
                      'download/v1.0.0/swin_tiny_patch4_window7_224.pth')))
    ```
    """
    model = ctx.cfg.get("model", None)
    backbone = model.get("backbone", None) if hasattr(model, "get") else None
    got = pretrained_checkpoint(backbone) if hasattr(backbone, "get") else None
    if got is None:
        return
    checkpoint, init = got
    yield from _family(backbone, checkpoint, init)
    pre = model.get("data_preprocessor", None) or {}
    found = [(c.name, c.source, c.quote, b) for c, b in input_breaches(checkpoint, pre)]
    found += [(c.name, c.source, c.quote, b) for c, b in load_breaches(backbone, checkpoint, init)]
    found += [("checkpoint-architecture", ARCH_SOURCE, ARCH_QUOTE, b) for b in architecture(backbone, checkpoint)]
    for name, source, quote, b in found:
        key = b.key if b.key.startswith("model.") else f"model.backbone.{b.key}"
        yield Violation(
            message=(f"{key} = {b.have!r}, but the backbone starts from {checkpoint}, which expects {b.want}: "
                     f"{b.why}"),
            key_path=key,
            evidence={"checkpoint": checkpoint, "convention": name, "source": source, "states": quote,
                      "value": b.have, "expected": b.want},
            fix=f"set {key} to {b.want}, or start from a checkpoint made for {b.have!r}")


def _family(backbone, checkpoint, init):
    """A checkpoint whose name states another backbone family than the backbone's type."""
    have, want = type_family(backbone.get("type", None)), checkpoint_family(checkpoint)
    if have is None or want is None or have == want:
        return
    inits = backbone.get("init_cfg", None)
    key = "init_cfg.checkpoint"
    if isinstance(inits, (list, tuple)):
        key = next((f"init_cfg.{i}.checkpoint" for i, c in enumerate(inits) if c is init), key)
    bb_type = backbone.get("type", None)
    yield Violation(
        message=(f"model.backbone.{key} = {checkpoint!r} names a {want} checkpoint, but model.backbone.type is "
                 f"{bb_type!r} (a {have}): the {want} weights' names or shapes do not fit it, so mmengine skips "
                 "most of them with a warning and the backbone stays randomly initialised"),
        key_path=f"model.backbone.{key}",
        evidence={"checkpoint": checkpoint, "convention": "checkpoint-family", "source": ARCH_SOURCE,
                  "states": ARCH_QUOTE, "checkpoint_family": want, "backbone_type": bb_type,
                  "backbone_family": have},
        fix=f"start from a {have} checkpoint, or set model.backbone.type (and its size keys) to the {want} "
            "the checkpoint holds")

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import is_mapping, node_type

from ._checkpoint_architectures import pretrained_checkpoint, shaping_args, zoo_table

WHY = {"norm_cfg.type": "its normalization layers are named and shaped for another norm type",
       "in_channels": "its first convolution takes another number of input channels"}


@rule(code="DA863", name="backbone-differs-from-checkpoint", severity="warning", tier="static",
      needs=("constructors",))
def backbone_differs_from_checkpoint(ctx):
    """The backbone is built with another architecture than the pretrained checkpoint it loads.

    ## What it does
    Compares the arguments that shape a backbone's parameters (``depth``, ``arch``,
    ``stem_channels``, ``base_channels``, ``groups``, ``base_width``, ``deep_stem``,
    ``norm_cfg.type``, ``embed_dims``, ``num_heads``, ``depths``, ``patch_size``, ``in_channels``...)
    with what every config of mmdet's zoo that builds the same backbone type from the same
    ``init_cfg`` checkpoint gives them (learnt into ``rules/zoo_checkpoint_architectures.json`` by
    ``scripts/zoo_checkpoint_architectures.py``). An argument the config leaves out counts with
    the constructor's default. Checkpoints the zoo does not load, and a backbone type the zoo never
    builds from that checkpoint (DA816's), are not compared.

    ## Why is this bad?
    mmengine loads a pretrained checkpoint non-strictly: parameters whose names are missing or
    whose shapes differ are skipped with a log line, and stay randomly initialised. A RegNet stem
    widened to 64 channels, a ResNet given GroupNorm while its checkpoint holds BatchNorm
    statistics, a ResNet-101 loading ResNet-50 weights: the run starts from a partly random
    backbone that the config calls pretrained, often with its first stages frozen that way.

    ## Example
    ```python
    _base_ = 'mmdet::regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py'
    model = dict(backbone=dict(stem_channels=64))   # the checkpoint's stem has 32
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py'
    # keep stem_channels=32, or load a checkpoint trained with the wider stem
    ```
    """
    model = ctx.cfg.get("model", None)
    backbone = model.get("backbone", None) if is_mapping(model) else None
    ckpt = pretrained_checkpoint(backbone)
    zoo = zoo_table().get(ckpt, {}).get(node_type(backbone)) if ckpt else None
    if not zoo:
        return
    try:
        sig = ctx.constructors.signature(backbone.get("type"), "model.backbone", backbone)
    except FactUnavailable:
        sig = None
    if sig is None:
        return  # the constructor's defaults decide what an unwritten argument is
    given = shaping_args(backbone, sig)
    for key, expected in sorted(zoo["shape"].items()):
        value = given.get(key, "<absent>")
        if value == "<absent>" or value == expected:
            continue
        written = key.partition(".")[0] in backbone
        how = "" if written else " (its default: the config leaves it out)"
        why = WHY.get(key, "its parameters are shaped differently")
        yield Violation(
            message=(f"model.backbone.{key}={value!r}{how}, but the {zoo['configs']} zoo config(s) that build "
                     f"{node_type(backbone)} from init_cfg checkpoint {ckpt!r} (e.g. {zoo['example']}) all use "
                     f"{key}={expected!r}: {why}, so mmengine skips the checkpoint's weights that do not fit "
                     "(a log line, no error) and they stay randomly initialised"),
            key_path=f"model.backbone.{key}" if written else "model.backbone",
            evidence={"checkpoint": ckpt, "argument": key, "value": value, "zoo_value": expected,
                      "zoo_configs": zoo["configs"], "example": zoo["example"]},
            fix=f"set {key}={expected!r} as the checkpoint was trained, or load a checkpoint trained with {key}={value!r}")

from detaudit.rule import Violation, rule

# what a pretrained source implies for the backbone and the data preprocessor
CAFFE = {"style": "caffe", "bgr_to_rgb": False, "std_ones": True}
PYTORCH = {"style": "pytorch", "bgr_to_rgb": True, "std_ones": False}


def _convention(checkpoint: str):
    c = checkpoint.lower()
    if "_caffe" in c and ("detectron" in c or "open-mmlab://" in c):
        return "caffe (Detectron) weights", CAFFE
    if c.startswith("torchvision://"):
        return "torchvision weights", PYTORCH
    return None, None


@rule(code="DA814", name="pretrained-convention-mismatch", severity="warning", tier="static", needs=())
def pretrained_convention_mismatch(ctx):
    """A ResNet backbone's pretrained weights were trained with another style or input convention than the config sets.

    ## What it does
    Reads the backbone's ``init_cfg`` checkpoint and what it implies, as mmdet's own configs
    state it: Detectron's caffe weights (``open-mmlab://detectron2/resnet50_caffe``...) expect
    ``style='caffe'`` (the stride on the 1x1 convolution), BGR input (``bgr_to_rgb=False``) and
    unit ``std``; torchvision's weights expect ``style='pytorch'``, RGB input and the ImageNet
    ``std``. Each disagreement with ``model.backbone.style`` or ``model.data_preprocessor`` is
    listed. Only ResNet-family backbones that take ``style`` are read.

    ## Why is this bad?
    Nothing fails: the weights load, and the network sees inputs on another scale or in another
    channel order than it was trained on, or strides in another layer. Training still converges,
    slower and a few points lower, which is easy to blame on anything else.

    ## Example
    ```python
    model = dict(
        data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(style='pytorch',
                      init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')))
    ```

    ## Use instead
    ```python
    model = dict(
        data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
        backbone=dict(style='caffe', norm_cfg=dict(requires_grad=False), norm_eval=True,
                      init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')))
    ```
    """
    model = ctx.cfg.get("model", None)
    if not hasattr(model, "get"):
        return
    backbone = model.get("backbone", None)
    init = backbone.get("init_cfg", None) if hasattr(backbone, "get") else None
    checkpoint = init.get("checkpoint", None) if hasattr(init, "get") else None
    if not isinstance(checkpoint, str) or "style" not in backbone or "ResNe" not in str(backbone.get("type", "")):
        return
    what, want = _convention(checkpoint)
    if want is None:
        return
    pre = model.get("data_preprocessor", None) or {}
    found = []
    if backbone.get("style") != want["style"]:
        found.append(("model.backbone.style", backbone.get("style"), want["style"]))
    if "bgr_to_rgb" in pre and bool(pre.get("bgr_to_rgb")) != want["bgr_to_rgb"]:
        found.append(("model.data_preprocessor.bgr_to_rgb", pre.get("bgr_to_rgb"), want["bgr_to_rgb"]))
    std = pre.get("std", None)
    if isinstance(std, (list, tuple)) and std:
        ones = all(abs(float(s) - 1.0) < 1e-6 for s in std)
        if ones != want["std_ones"]:
            found.append(("model.data_preprocessor.std", list(std), "[1.0, 1.0, 1.0]" if want["std_ones"]
                          else "the ImageNet std [58.395, 57.12, 57.375]"))
    for key, have, should in found:
        yield Violation(
            message=(f"{key} = {have!r}, but the backbone starts from {what} ({checkpoint}), which expect "
                     f"{should!r}"),
            key_path=key, evidence={"checkpoint": checkpoint, "value": have, "expected": should},
            fix=f"set {key} to {should!r}, or start from weights trained with {have!r}")

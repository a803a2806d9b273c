from detaudit.rule import Violation, rule

# Sources of bare backbone state dicts: their keys are the backbone's own ('conv1.weight',
# 'layer1.0...'), with no 'backbone.' prefix. (mmcls:// and mmpretrain checkpoints are whole
# classifiers whose keys do start with 'backbone.': they load, and are not listed.)
BACKBONE_SCHEMES = ("torchvision://", "open-mmlab://", "openmmlab://")
BACKBONE_URLS = ("https://download.pytorch.org/models/", "http://download.pytorch.org/models/",
                 "https://github.com/rwightman/pytorch-image-models/releases/",
                 "https://github.com/huggingface/pytorch-image-models/releases/")


@rule(code="DA889", name="backbone-weights-as-load-from", severity="error", tier="static", needs=())
def backbone_weights_as_load_from(ctx):
    """``load_from`` names an ImageNet backbone checkpoint: nothing in the detector loads from it.

    ## What it does
    Reports a ``load_from`` that is a ``torchvision://`` or ``open-mmlab://`` model-zoo name, a
    torchvision download URL, or a timm release URL: the sources of bare backbone weights.

    ## Why is this bad?
    ``load_from`` restores a whole detector, matching the checkpoint's keys to the model's. A
    backbone checkpoint's keys are the backbone's own (``conv1.weight``, ``layer1.0.conv1.weight``)
    and the detector's are ``backbone.conv1.weight``: nothing matches, mmengine logs a key-mismatch
    warning and training starts from random weights. Backbone weights go into the backbone's
    ``init_cfg``, which loads them into that module.

    ## Example
    ```python
    load_from = 'torchvision://resnet50'
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))
    load_from = None  # or a checkpoint of a whole detector
    ```
    """
    value = ctx.cfg.get("load_from", None)
    if not isinstance(value, str):
        return
    source = value.strip()
    scheme = next((s for s in BACKBONE_SCHEMES if source.startswith(s)), None)
    if scheme is None and not source.startswith(BACKBONE_URLS):
        return
    kind = f"a model-zoo name ({scheme})" if scheme else "a download of bare backbone weights"
    yield Violation(
        message=f"load_from = {value!r} is {kind}: its keys are the backbone's own (conv1.weight, ...) and the "
                "detector's start with 'backbone.', so nothing loads and training starts from random weights "
                "(mmengine only logs the mismatch)",
        key_path="load_from", evidence={"load_from": value, "source": scheme or "url"},
        fix=f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint={value!r}) and load_from=None")

import re
from pathlib import Path

from detaudit.rule import Violation, rule

from ._zoo_tables import learnt_table

# mmengine's model-zoo schemes of bare backbone state dicts: their keys are the backbone's own
# ('conv1.weight', 'layer1.0...'), with no 'backbone.' prefix.
BACKBONE_SCHEMES = ("torchvision://", "open-mmlab://", "openmmlab://")
# timm's releases hold bare state dicts too (no zoo config of mmdet loads them)
BACKBONE_URLS = ("https://github.com/rwightman/pytorch-image-models/releases/",
                 "https://github.com/huggingface/pytorch-image-models/releases/")
TABLE = Path(__file__).with_name("zoo_backbone_sources.json")  # scripts/zoo_backbone_sources.py


def folder(checkpoint: str) -> str:
    """Where a checkpoint comes from: ``https://host/a/b/file.pth`` -> ``https://host/a/b/``, a GitHub
    release of any tag -> ``https://github.com/OWNER/REPO/releases/``, ``torchvision://resnet50`` ->
    ``torchvision://``; "" for a local path."""
    scheme, sep, _ = checkpoint.partition("://")
    if not sep:
        return ""
    if scheme not in ("http", "https"):
        return scheme + "://"
    m = re.match(r"https?://github\.com/[^/]+/[^/]+/releases/", checkpoint)
    return m.group(0) if m else checkpoint.rsplit("/", 1)[0] + "/"


def zoo_backbone_folders() -> dict[str, dict]:
    """Folders whose checkpoints the zoo loads only as bare backbone weights, with an example."""
    folders = learnt_table(TABLE, "folders")
    return {k: v for k, v in folders.items() if v["backbone_bare"] and not v["other"]}


def is_backbone_source(source: str) -> bool:
    """Whether a checkpoint name or URL is one of bare backbone weights (see DA889)."""
    source = source.strip()
    return (source.startswith(BACKBONE_SCHEMES) or source.startswith(BACKBONE_URLS)
            or folder(source) in zoo_backbone_folders())


@rule(code="DA889", name="backbone-weights-as-load-from", severity="error", tier="static", needs=())
def backbone_weights_as_load_from(ctx):
    """``load_from`` names an ImageNet backbone checkpoint: nothing in the detector loads from it.

    ## What it does
    Reports a ``load_from`` that is a ``torchvision://`` or ``open-mmlab://`` model-zoo name, a
    timm release URL, or a URL from a folder whose checkpoints mmdet's zoo loads only as a
    backbone's ``Pretrained`` init without a prefix (torchvision's downloads, the Swin releases:
    ``rules/zoo_backbone_sources.json``, written by ``scripts/zoo_backbone_sources.py``): the sources
    of bare backbone weights. Whole classifiers (mmpretrain's, whose keys start with ``backbone.``)
    load into a detector and are not reported.

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
    if not is_backbone_source(source):
        return
    scheme = next((s for s in BACKBONE_SCHEMES if source.startswith(s)), None)
    zoo = zoo_backbone_folders().get(folder(source))
    kind = (f"a model-zoo name ({scheme})" if scheme else
            f"from {folder(source)}, whose checkpoints mmdet's zoo loads only as a backbone's init "
            f"({zoo['backbone_bare']} config{'s' if zoo['backbone_bare'] != 1 else ''}, e.g. {zoo['config']})" if zoo else "a download of bare backbone weights")
    yield Violation(
        message=f"load_from = {value!r} is {kind}: its keys are the backbone's own (conv1.weight, ...) and the "
                "detector's start with 'backbone.', so nothing loads and training starts from random weights "
                "(mmengine only logs the mismatch)",
        key_path="load_from", evidence={"load_from": value, "source": scheme or "url"},
        fix=f"model.backbone.init_cfg=dict(type='Pretrained', checkpoint={value!r}) and load_from=None")

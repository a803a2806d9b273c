import re
from functools import lru_cache

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type
from detaudit.rule.source import source_of

from ._component_dicts import constructors_of

# A transform's own code that refuses masks: ``if 'gt_masks' in results: raise NotImplementedError``.
REFUSES = re.compile(r"['\"]gt_masks['\"]\s+in\s+results[^\n]*\n(?:[^\n]*\n){0,3}?\s*raise\s+NotImplementedError")
MOVES_BOXES = re.compile(r"results\[['\"]gt_bboxes['\"]\]\s*=")


@lru_cache(maxsize=None)
def mask_handling(cls) -> str | None:
    """How a transform class's own code (its class and mmdet/mmcv bases) treats instance masks:
    "refuses" (raises when they are there), "ignores" (rewrites the boxes, never names the masks),
    or None (handles them, or does not touch the instances)."""
    sources = []
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] not in ("mmdet", "mmcv") or klass.__name__ == "BaseTransform":
            continue
        try:
            sources.append(source_of(klass))
        except (OSError, TypeError):
            return None
    text = "\n".join(sources)
    if REFUSES.search(text):
        return "refuses"
    if MOVES_BOXES.search(text) and "gt_masks" not in text:
        return "ignores"
    return None


def _loads_masks(step) -> bool:
    return is_mapping(step) and node_type(step) == "LoadAnnotations" and step.get("with_mask", False) is True


@rule(code="DA869", name="transform-drops-masks", severity="error", tier="static", needs=("constructors",))
def transform_drops_masks(ctx):
    """A transform after ``LoadAnnotations(with_mask=True)`` refuses instance masks, or moves boxes without them.

    ## What it does
    For each pipeline that loads instance masks (or a dataset wrapper's pipeline over one that
    does), reads the code of every later transform (its
    class and mmdet's or mmcv's bases, from the installed packages) and reports one that raises
    ``NotImplementedError`` when ``gt_masks`` is in the results (``RandomAffine``,
    ``RandomCenterCropPad``: an error), or that rewrites ``gt_bboxes`` and never names
    ``gt_masks`` (``Mosaic``, ``MixUp``: a warning, the masks stay those of the first image, in
    its original frame).

    ## Why is this bad?
    An augmentation recipe copied from a box-only detector (YOLOX's mosaic and affine steps) into
    an instance-segmentation config either stops the first training iteration
    (``NotImplementedError: RandomAffine only supports bbox``) or trains the mask head on masks
    that no longer cover the boxes they belong to.

    ## Example
    ```python
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_mask=True),
                      dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5)), dict(type='PackDetInputs')]
    ```

    ## Use instead
    ```python
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_mask=True),
                      dict(type='RandomResize', scale=(1333, 800), ratio_range=(0.5, 1.5), keep_ratio=True),
                      dict(type='PackDetInputs')]   # or CachedMosaic/CachedMixUp, which carry masks
    ```
    """
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    seen = set()
    pipelines = list(dataloader_pipelines(ctx.cfg))
    # a wrapper's pipeline (MultiImageMixDataset) runs on what its inner dataset's pipeline loaded
    inner = {loader for loader, _k, ds, pl in pipelines if "dataset" not in ds and any(map(_loads_masks, pl))}
    for loader, key, ds, pipeline in pipelines:
        loaded = loader in inner and ("dataset" in ds or "datasets" in ds)
        for i, step in enumerate(pipeline):
            if _loads_masks(step):
                loaded = True
                continue
            if not loaded or not is_mapping(step) or not node_type(step):
                continue
            resolved = constructors.resolve(step.get("type"), f"{key}.{i}")
            if resolved is None or not isinstance(resolved[0], type):
                continue
            how = mask_handling(resolved[0])
            if how is None or (key.replace("test_", "val_"), i) in seen:
                continue
            seen.add((key.replace("test_", "val_"), i))
            kind = node_type(step)
            if how == "refuses":
                yield Violation(
                    message=(f"{key}.{i} ({kind}) comes after LoadAnnotations(with_mask=True), and {kind}'s code raises "
                             "NotImplementedError when instance masks are in the results: the first sample fails"),
                    key_path=f"{key}.{i}", evidence={"transform": kind, "masks": "refused"},
                    fix=f"drop {kind} from a pipeline that loads masks, or use a transform that carries masks")
            else:
                yield Violation(
                    message=(f"{key}.{i} ({kind}) rewrites the boxes after LoadAnnotations(with_mask=True) but its code "
                             "never touches gt_masks: the masks stay those of the original image and frame, no longer "
                             "matching the boxes"),
                    key_path=f"{key}.{i}", evidence={"transform": kind, "masks": "ignored"},
                    fix=f"use a transform that carries masks (CachedMosaic, CachedMixUp, RandomResize, RandomCrop) "
                        f"instead of {kind}", severity="warning")

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, node_type
from detaudit.rule.merge import where


def _loads_masks(pipelines) -> bool:
    return any(hasattr(t, "get") and node_type(t).split(".")[-1] == "LoadAnnotations" and t.get("with_mask", False)
               for pipeline in pipelines for t in pipeline)


@rule(code="DA884", name="crop-keeps-boxes-of-cropped-masks", severity="warning", tier="static",
      needs=("source_map",))
def crop_keeps_boxes_of_cropped_masks(ctx):
    """A ``RandomCrop`` cuts instance masks but clips their boxes instead of recomputing them.

    ## What it does
    For each training dataset whose pipeline (with its wrappers') loads masks
    (``LoadAnnotations(with_mask=True)``), reports a ``RandomCrop`` step without
    ``recompute_bbox=True``.

    ## Why is this bad?
    ``RandomCrop`` crops the masks and, by default, clips each box to the crop window. An object
    cut by the window keeps a box that covers the clipped rectangle, not the part of the mask
    left inside: the box targets of an instance segmentation model no longer match its masks
    (the larger the object and the crop, the larger the gap), and the box branch learns boxes
    the masks contradict. Nothing fails.

    ## Example
    ```python
    dict(type='RandomCrop', crop_size=(640, 640))  # after LoadAnnotations(with_mask=True)
    ```

    ## Use instead
    ```python
    dict(type='RandomCrop', crop_size=(640, 640), recompute_bbox=True)
    ```

    ## References
    - mmdet ``RandomCrop`` (``recompute_bbox``: re-compute the boxes from the cropped masks)
    """
    sm, seen = ctx.source_map, set()
    found = list(dataloader_pipelines(ctx.cfg, ("train_dataloader",)))
    if not _loads_masks([p for _l, _path, _ds, p in found]):
        return
    for _loader, path, _ds, pipeline in found:
        for i, step in enumerate(pipeline):
            if not (hasattr(step, "get") and node_type(step).split(".")[-1] == "RandomCrop"):
                continue
            if step.get("recompute_bbox", False):
                continue
            written = where(sm.locate(f"{path}.{i}"))
            if written in seen:
                continue
            seen.add(written)
            yield Violation(
                message=(f"{path}.{i} RandomCrop cuts the instance masks this pipeline loads but clips their boxes "
                         "to the window (recompute_bbox=False): a cut object's box no longer bounds its mask"),
                key_path=f"{path}.{i}.recompute_bbox", evidence={"step": i},
                fix=f"set recompute_bbox=True on {path}.{i}")

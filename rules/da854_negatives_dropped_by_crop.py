from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type
from detaudit.rule.merge import where

# crops that return None (the dataset draws another image) for a crop without a box unless told otherwise
CROPS = {"RandomCrop": "allow_negative_crop"}


@rule(code="DA854", name="negatives-dropped-by-crop", severity="warning", tier="static", needs=("source_map",))
def negatives_dropped_by_crop(ctx):
    """The training set keeps images without boxes, but a crop in its pipeline drops every sample without one.

    ## What it does
    For every dataset behind ``train_dataloader`` whose ``filter_cfg`` keeps images without
    annotations (``filter_empty_gt=False``), reports a ``RandomCrop`` in its pipeline left at
    ``allow_negative_crop=False`` (the default), at that key.

    ## Why is this bad?
    ``RandomCrop`` returns ``None`` for a crop that holds no box, and the dataset then silently
    draws another image: every negative image, and every background-only crop of a positive
    one, is thrown away. Keeping empty images (``filter_empty_gt=False``) says the negatives
    are wanted; with the crop's default they are never trained on, and the sampling leans
    towards crowded images, without any error.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=False),
                                         pipeline=[..., dict(type='RandomCrop', crop_size=(512, 512)), ...]))
    ```

    ## Use instead
    ```python
    dict(type='RandomCrop', crop_size=(512, 512), allow_negative_crop=True)
    ```
    """
    sm = ctx.source_map
    for _, path, ds, pipeline in dataloader_pipelines(ctx.cfg, ("train_dataloader",)):
        filter_cfg = ds.get("filter_cfg", None)
        if not (is_mapping(filter_cfg) and filter_cfg.get("filter_empty_gt", None) is False):
            continue
        dataset = path.rsplit(".pipeline", 1)[0]
        for i, step in enumerate(pipeline):
            kind = node_type(step).split(".")[-1] if hasattr(step, "get") else None
            flag = CROPS.get(kind)
            if flag is None or step.get(flag, False):
                continue
            key = f"{path}.{i}.{flag}"
            yield Violation(
                message=(f"{dataset}.filter_cfg.filter_empty_gt=False ({where(sm.locate(f'{dataset}.filter_cfg.filter_empty_gt'))}) "
                         f"keeps the images without boxes, but {kind} at {path}.{i} leaves {flag}=False: it drops "
                         f"every crop without a box, so the negatives are never trained on"),
                key_path=key, evidence={"transform": kind, flag: step.get(flag, False)},
                fix=f"set {flag}=True on the {kind} (or filter the empty images out on purpose)")

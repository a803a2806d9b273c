from detaudit.rule import Violation, rule
from detaudit.rule.classes import configured_heads, dataset_classes
from detaudit.rule.config import dataset_leaves, is_prompt_detector
from detaudit.rule.facts import tier_rank
from detaudit.rule.merge import where


def _deferred(ctx) -> bool:
    """DA601 compares the built model when the audit builds it: this rule is its static stand-in."""
    return not ctx.no_exec and tier_rank(ctx.max_tier) >= tier_rank("build")


@rule(code="DA827", name="num-classes-mismatch-config", severity="error", tier="static", needs=("source_map",))
def num_classes_mismatch_config(ctx):
    """A head's ``num_classes`` in the config differs from the number of classes of a dataset.

    ## What it does
    The static-tier counterpart of DA601: reads every ``num_classes`` the model config gives a
    head (box, mask, keypoint heads; cascade stages one by one) and compares it with the classes
    of the dataset behind each dataloader (``metainfo.classes``, else the dataset type's default
    classes). Proposal heads (``rpn_head``, the head of an ``RPN`` detector), semantic, re-id and
    tracking heads, losses and text-prompted detectors are left out. Heads of one size that
    mismatch the same datasets are one finding, at the first of them. When the audit reaches the
    build tier, DA601 reports on the built model and this rule stays silent.

    ## Why is this bad?
    Changing the classes of the datasets does not change the heads: a mask head or a second box
    head left at the base's 80 trains 77 classes that no box carries and predicts labels that do
    not exist; a head with fewer outputs than the dataset's classes fails with an index error at
    the first higher label, or at the first evaluation. Nothing in MMDetection 3.x compares them.

    ## Example
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=[dict(h, num_classes=3) for h in _base_.model.roi_head.bbox_head]))
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('scratch', 'dent', 'rust'))))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=[dict(h, num_classes=3) for h in _base_.model.roi_head.bbox_head],
                               mask_head=dict(num_classes=3)))
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('scratch', 'dent', 'rust'))))
    ```
    """
    cfg = ctx.cfg
    model = cfg.get("model", None)
    if _deferred(ctx) or is_prompt_detector(model):
        return
    loaders = {}  # dataset key path -> (dataloader, (fitting sizes, classes, source))
    for loader, path, ds in dataset_leaves(cfg):
        info = dataset_classes(ds, defaults=not ctx.no_exec)
        if info is not None:
            loaders[path] = (loader, info)
    if not loaders:
        return
    groups: dict[tuple, list[str]] = {}
    for key, n in configured_heads(model):
        bad = tuple(path for path, (_, info) in loaders.items() if n not in info[0])
        if bad:
            groups.setdefault((n, bad), []).append(key)
    for (n, paths), keys in groups.items():
        counts = sorted({loaders[p][1][1] for p in paths})
        described = "; ".join(f"{p}: {loaders[p][1][1]} class{'es' if loaders[p][1][1] != 1 else ''} from "
                              f"{loaders[p][1][2]}" for p in paths[:3])
        shown = ", ".join(f"{k} ({where(ctx.source_map.locate(k))})" for k in keys[:3])
        more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
        fix = (f"set num_classes={counts[0]} at {', '.join(keys)}" if len(counts) == 1 else
               "give every dataloader's dataset the same metainfo.classes and match num_classes to it")
        yield Violation(
            message=(f"{shown}{more}: num_classes={n}, but the dataset of "
                     f"{', '.join(dict.fromkeys(loaders[p][0] for p in paths))} has "
                     f"{' / '.join(str(c) for c in counts)} class{'es' if counts != [1] else ''} ({described})"),
            key_path=keys[0],
            evidence={"num_classes": n, "keys": keys, "dataset_classes": {p: loaders[p][1][1] for p in paths}},
            fix=fix + " (or give the datasets metainfo=dict(classes=...) with the classes the heads were sized for)")

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves, is_mapping, walk_dicts

SPLIT = (("num_things_classes", "thing_classes"), ("num_stuff_classes", "stuff_classes"))


def declared_split(cfg) -> dict[str, tuple[int, str]]:
    """``thing_classes``/``stuff_classes`` -> (count, the dataset key that declares it), from the
    first dataset of the loaders whose metainfo names them."""
    out: dict[str, tuple[int, str]] = {}
    for _loader, path, ds in dataset_leaves(cfg):
        meta = ds.get("metainfo", None)
        if not is_mapping(meta):
            continue
        for _, name in SPLIT:
            value = meta.get(name, None)
            if name not in out and isinstance(value, (list, tuple)) and value:
                out[name] = (len(value), f"{path}.metainfo.{name}")
    return out


@rule(code="DA893", name="panoptic-split-differs-from-dataset", severity="error", tier="static", needs=())
def panoptic_split_differs_from_dataset(ctx):
    """A model part counts other thing or stuff classes than the dataset's metainfo declares.

    ## What it does
    Reads the ``thing_classes`` and ``stuff_classes`` a dataset's ``metainfo`` declares and
    compares their counts with every ``num_things_classes`` and ``num_stuff_classes`` of the model
    config (a panoptic head, its fusion head, Panoptic FPN's semantic head), wherever the part is
    nested.

    ## Why is this bad?
    A panoptic model splits its labels by these counts: label ``i`` is a thing when ``i <
    num_things_classes``. A part left at COCO's 80 things and 53 stuff classes on a set of 10
    things and 4 stuff classes takes every label for a thing (Panoptic FPN's semantic head merges
    them into its one things channel), so the stuff classes are never trained as stuff, or the
    fusion assigns stuff predictions to thing classes. Nothing fails: the panoptic quality is low.

    ## Example
    ```python
    _base_ = 'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py'
    metainfo = dict(classes=things + stuff, thing_classes=things, stuff_classes=stuff)  # 10 + 4
    model = dict(roi_head=dict(bbox_head=dict(num_classes=10), mask_head=dict(num_classes=10)))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(bbox_head=dict(num_classes=10), mask_head=dict(num_classes=10)),
                 semantic_head=dict(num_things_classes=10, num_stuff_classes=4),
                 panoptic_fusion_head=dict(num_things_classes=10, num_stuff_classes=4))
    ```
    """
    split = declared_split(ctx.cfg)
    if not split:
        return
    for path, d in walk_dicts(ctx.cfg.get("model", None), "model"):
        for key, name in SPLIT:
            value = d.get(key, None)
            if name not in split or not isinstance(value, int) or isinstance(value, bool):
                continue
            want, where = split[name]
            if value != want:
                yield Violation(
                    message=(f"{path}.{key} = {value} but {where} declares {want} {name.replace('_', ' ')}: the part "
                             f"splits labels into things and stuff by its own count"),
                    key_path=f"{path}.{key}",
                    evidence={"configured": value, "declared": want, "declared_at": where},
                    fix=f"set {path}.{key}={want}")

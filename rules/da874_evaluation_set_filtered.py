from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves, is_mapping

EVALUATED = ("val_dataloader", "test_dataloader")


def _filters(filter_cfg) -> list[str]:
    """What a dataset's ``filter_cfg`` drops outside test mode (mmdet's datasets keep everything in it)."""
    if not is_mapping(filter_cfg):
        return []
    out = []
    if filter_cfg.get("filter_empty_gt", False) is True:
        out.append("every image without objects (filter_empty_gt=True)")
    size = filter_cfg.get("min_size", 0)
    if isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0:
        out.append(f"every image narrower or shorter than {size} px (min_size={size})")
    return out


@rule(code="DA874", name="evaluation-set-filtered", severity="warning", tier="static", needs=())
def evaluation_set_filtered(ctx):
    """A validation or test dataset is not in test mode, so its ``filter_cfg`` drops images.

    ## What it does
    Follows ``val_dataloader`` and ``test_dataloader`` to each dataset they read (through
    wrappers) and reports one whose ``test_mode`` is not ``True`` while its ``filter_cfg`` filters
    (``filter_empty_gt=True``, a ``min_size`` above 0). mmdet's datasets apply ``filter_cfg`` only
    outside test mode.

    ## Why is this bad?
    A validation set rebuilt from the training set's settings (a ``_delete_=True`` dict, or a
    copy of ``train_dataloader``) keeps the training filter and loses ``test_mode=True``: the
    images without objects, or the small ones, are never predicted, and the metric is computed on
    another set than the annotation file the evaluator reads, with no error anywhere.

    ## Example
    ```python
    val_dataloader = dict(dataset=dict(_delete_=True, type='CocoDataset', data_root='data/x/',
                                       ann_file='val.json', filter_cfg=dict(filter_empty_gt=True, min_size=32),
                                       pipeline=test_pipeline))
    ```

    ## Use instead
    ```python
    val_dataloader = dict(dataset=dict(_delete_=True, type='CocoDataset', data_root='data/x/',
                                       ann_file='val.json', test_mode=True, pipeline=test_pipeline))
    ```
    """
    seen = set()
    for loader, path, ds in dataset_leaves(ctx.cfg):
        if loader not in EVALUATED or ds.get("test_mode", False) is True:
            continue
        dropped = _filters(ds.get("filter_cfg", None))
        if not dropped:
            continue
        signature = (repr(ds.get("ann_file")), repr(ds.get("filter_cfg")))
        if signature in seen:  # test_dataloader = val_dataloader: once
            continue
        seen.add(signature)
        mode = "test_mode=False" if "test_mode" in ds else "no test_mode=True"
        yield Violation(
            message=(f"{path} has {mode} and filter_cfg={dict(ds['filter_cfg'])!r}: outside test mode the dataset "
                     f"drops {' and '.join(dropped)}, so evaluation never predicts them and scores "
                     "another set than its annotation file"),
            key_path=f"{path}.test_mode",
            evidence={"test_mode": ds.get("test_mode", None), "filter_cfg": dict(ds["filter_cfg"])},
            fix=f"set test_mode=True on {path} (and drop its filter_cfg)")

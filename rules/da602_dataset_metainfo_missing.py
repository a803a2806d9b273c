from detaudit.rule import Violation, rule

from detaudit.rule.config import (BENCHMARKS, counts_object_classes, dataset_leaves, dataset_paths,
                                  is_prompt_detector, metainfo_classes, type_name)

def _head_class_counts(model_cfg, path="model"):
    """(key path, num_classes) set in the config under ``model`` for heads that count object classes."""
    if hasattr(model_cfg, "keys"):
        for k in list(model_cfg.keys()):
            v = model_cfg[k]
            sub = f"{path}.{k}"
            if k == "num_classes" and isinstance(v, int) and not isinstance(v, bool) and counts_object_classes(path):
                yield sub, v
            else:
                yield from _head_class_counts(v, sub)
    elif isinstance(model_cfg, (list, tuple)):
        for i, v in enumerate(model_cfg):
            yield from _head_class_counts(v, f"{path}.{i}")


@rule(code="DA602", name="dataset-metainfo-missing", severity="error", tier="static")
def dataset_metainfo_missing(ctx):
    """A benchmark dataset type is pointed at other data without ``metainfo.classes``.

    ## What it does
    Checks every dataset behind ``train_dataloader``, ``val_dataloader`` and
    ``test_dataloader`` whose type is one of mmdet's benchmark datasets (``CocoDataset``,
    ``VOCDataset``, ``CityscapesDataset``...) and that sets no ``metainfo.classes``. It
    reports the dataset when its paths show it is not the benchmark: they never mention the
    benchmark (``data/KAIST_processed/``); heads sized for another number of classes than
    the benchmark's default are named as a second sign. A benchmark at its own paths (COCO
    at ``data/coco/``) keeps its classes: a head sized otherwise is the head's mistake,
    reported once by DA601.

    ## Why is this bad?
    Without ``metainfo.classes`` the dataset keeps the benchmark's class list (COCO's 80).
    Annotations are then matched by category *name*: a custom ``person`` survives by luck,
    ``pedestrian`` is dropped as an unknown category, images end up without boxes and are
    filtered out, evaluation reports 80 classes, and the checkpoint's
    ``dataset_meta`` records the wrong classes.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', data_root='data/kaist/',
                                         ann_file='annotations/train.json'))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', data_root='data/kaist/',
                                         ann_file='annotations/train.json',
                                         metainfo=dict(classes=('person',))))
    ```
    """
    cfg = ctx.cfg
    model_cfg = cfg.get("model", None)
    head_counts = [] if is_prompt_detector(model_cfg) else list(_head_class_counts(model_cfg))
    for loader, path, ds in dataset_leaves(cfg):
        kind = type_name(ds.get("type", None))
        if kind not in BENCHMARKS or metainfo_classes(ds) is not None:
            continue
        fitting, words = BENCHMARKS[kind]
        default_count = fitting[0]
        paths = dataset_paths(ds)
        if not paths or any(w in paths.lower() for w in words):
            continue  # the benchmark itself (or nothing to tell by): its classes are right, DA601 judges heads
        reasons = [f"its paths ({paths}) are not the {kind.replace('Dataset', '')} benchmark's"]
        other = sorted({n for _, n in head_counts if n not in fitting})
        if other:
            reasons.append(f"the model's heads have num_classes={'/'.join(map(str, other))}")
        yield Violation(
            message=(f"{path} ({kind}) has no metainfo.classes, so it uses {kind}'s {default_count} default "
                     f"classes, but {' and '.join(reasons)}"),
            key_path=path,
            evidence={"dataloader": loader, "dataset_type": kind, "default_classes": default_count,
                      "paths": paths, "head_num_classes": other},
            fix=f"add metainfo=dict(classes=(...)) to {path} with the classes of your annotations",
        )

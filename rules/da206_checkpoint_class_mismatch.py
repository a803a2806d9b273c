from detaudit.rule import FactUnavailable
from detaudit.rule import Violation, rule

DATALOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


@rule(code="DA206", name="checkpoint-class-mismatch", severity="warning", tier="checkpoint", needs=("checkpoint",))
def checkpoint_class_mismatch(ctx):
    """The ``load_from`` checkpoint was trained on other classes, although its shapes fit.

    ## What it does
    Compares the classes recorded in the checkpoint (``meta.dataset_meta.classes``, or the
    MMDetection 2.x ``meta.CLASSES``) with the classes of the config's dataloaders
    (``dataset.metainfo.classes``, through dataset wrappers, or the dataset type's own
    defaults). Fires when they differ while the class-dependent layers have the same shape,
    so the head loads without any warning.

    ## Why is this bad?
    Label ``k`` of the new data is trained on top of what the checkpoint learned for another
    class: a "person" head fine-tuned from a "car" head, or classes listed in another
    order so that every label is permuted. Training works, but starts from the wrong place,
    and evaluation of a checkpoint against the wrong names is silently wrong.

    ## Example
    ```python
    load_from = 'work_dirs/vehicles/epoch_12.pth'   # meta: classes=('car',)
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person',))))
    ```

    ## Use instead
    ```python
    load_from = 'work_dirs/pedestrians/epoch_12.pth'  # meta: classes=('person',)
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person',))))
    ```
    """
    view = ctx.checkpoint
    if view.classes is None:
        raise FactUnavailable("checkpoint", "the checkpoint records no classes (meta.dataset_meta.classes)")
    if any(m.class_dependent for m in view.mismatched):
        return  # the head does not load: DA204 tells that story
    found = config_classes(ctx)
    if not found:
        raise FactUnavailable("cfg", "no dataloader of the config names its classes")
    seen = set()
    for key_path, classes in found:
        if classes == view.classes or classes in seen:
            continue
        seen.add(classes)
        if sorted(classes) == sorted(view.classes):
            how = "the same classes in another order, so every label index means another class"
        else:
            only_ckpt = [c for c in view.classes if c not in classes]
            only_cfg = [c for c in classes if c not in view.classes]
            how = f"checkpoint only: {_names(only_ckpt)}; config only: {_names(only_cfg)}"
        yield Violation(
            message=f"load_from was trained on {_names(view.classes)} but {key_path.split('.')[0]} uses "
                    f"{_names(classes)} ({how}); the class layers have the same shape, so they load silently",
            key_path=key_path,
            evidence={"checkpoint": view.source, "checkpoint_classes": list(view.classes),
                      "config_classes": list(classes)},
            fix="load a checkpoint trained on these classes, or list the classes in the checkpoint's order")


def _names(classes, limit: int = 8) -> str:
    classes = list(classes)
    shown = ", ".join(repr(c) for c in classes[:limit])
    return f"({shown}{', ...' if len(classes) > limit else ''})"


def config_classes(ctx) -> list[tuple[str, tuple]]:
    """(key path, classes) for each dataloader whose dataset names classes, explicitly in
    ``metainfo`` or through its type's defaults. Wrappers (``dataset=``, ``datasets=[...]``)
    are followed to the first dataset that names them."""
    out = []
    for loader in DATALOADERS:
        dataset = ctx.config_value(f"{loader}.dataset", None)
        found = _dataset_classes(dataset, f"{loader}.dataset")
        if found:
            out.append(found)
    return out


def _dataset_classes(ds, path):
    if not isinstance(ds, dict):
        return None
    metainfo = ds.get("metainfo")
    classes = metainfo.get("classes") if isinstance(metainfo, dict) else None
    if isinstance(classes, str):
        classes = (classes,)
    if isinstance(classes, (list, tuple)) and classes and all(isinstance(c, str) for c in classes):
        return f"{path}.metainfo.classes", tuple(classes)
    if isinstance(ds.get("dataset"), dict):
        return _dataset_classes(ds["dataset"], f"{path}.dataset")
    if isinstance(ds.get("datasets"), (list, tuple)) and ds["datasets"]:
        return _dataset_classes(ds["datasets"][0], f"{path}.datasets.0")
    default = _type_default_classes(ds.get("type"))
    return (f"{path}.type", default) if default else None


def _type_default_classes(type_name):
    """``METAINFO['classes']`` of a registered dataset class, read without building it."""
    if not isinstance(type_name, str):
        type_name = getattr(type_name, "__name__", None)
        if type_name is None:
            return None
    try:
        from mmdet.registry import DATASETS

        cls = DATASETS.get(type_name)
    except Exception:  # noqa: BLE001 - an unknown type has no defaults to read
        return None
    classes = getattr(cls, "METAINFO", {}).get("classes") if cls is not None else None
    return tuple(classes) if isinstance(classes, (list, tuple)) and classes else None

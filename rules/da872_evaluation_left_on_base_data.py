from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, walk_dicts

from ._required_args import history_of

PACKAGE_CONFIGS = ("/.mim/configs/", "::")  # a file of an installed package's config zoo (mmdet::...)


def _from_package(assignment) -> bool:
    return assignment is not None and any(marker in assignment.file for marker in PACKAGE_CONFIGS)


def _datasets(cfg, loader):
    dl = cfg.get(loader, None)
    if not is_mapping(dl):
        return
    for path, ds in walk_dicts(dl.get("dataset", None), f"{loader}.dataset"):
        if ".pipeline" not in path and "data_root" in ds:
            yield path, ds


@rule(code="DA872", name="evaluation-left-on-base-data", severity="warning", tier="static", needs=("key_history",))
def evaluation_left_on_base_data(ctx):
    """The training set was pointed at new data; the validation or test set still reads the base's.

    ## What it does
    Follows where each dataset's ``data_root`` and ``ann_file`` were written (the key history):
    when the config (not a base from the installed zoo) points the training set at another
    ``data_root``, and a validation or test set keeps both its ``data_root`` and ``ann_file`` from
    the zoo base it inherits, reports that set's ``data_root`` with both values and where each was
    written.

    ## Why is this bad?
    Adapting a zoo config to a custom dataset usually means editing each loader, and the training
    loader is the one people edit first. The evaluation loaders then keep ``data/coco/`` or
    ``data/VOCdevkit/``: training starts, and the first validation fails on a file that is not
    there, or, where the zoo's data is installed, the custom model is scored on the zoo's dataset
    with the wrong classes.

    ## Example
    ```python
    _base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
    train_dataloader = dict(dataset=dict(dataset=dict(_delete_=True, type='VOCDataset',
                                                      data_root='data/powerline/', ...)))
    ```

    ## Use instead
    ```python
    val_dataloader = dict(dataset=dict(data_root='data/powerline/',
                                       ann_file='VOC2007/ImageSets/Main/test.txt', ...))
    test_dataloader = val_dataloader
    ```
    """
    history = history_of(ctx)
    if history is None:  # a config given as an object: no merges to tell
        return
    moved = []
    for path, ds in _datasets(ctx.cfg, "train_dataloader"):
        written = history.final(f"{path}.data_root")
        if written is not None and not _from_package(written) and isinstance(ds.get("data_root"), str):
            moved.append((path, ds["data_root"], written))
    if not moved:
        return
    train_path, train_root, train_written = moved[0]
    roots = {root for _p, root, _w in moved}
    reported = {}
    for loader in ("val_dataloader", "test_dataloader"):
        for path, ds in _datasets(ctx.cfg, loader):
            root, ann = ds.get("data_root"), ds.get("ann_file")
            root_written = history.final(f"{path}.data_root")
            ann_written = history.final(f"{path}.ann_file")
            if not (_from_package(root_written) and (ann is None or _from_package(ann_written))):
                continue
            if not isinstance(root, str) or root in roots:
                continue
            signature = (root, ann)
            if signature in reported:
                reported[signature][1].append(path)
                continue
            reported[signature] = (path, [path], root_written, ann_written)
    for (root, ann), (path, paths, root_written, ann_written) in reported.items():
        also = f" (and {', '.join(p for p in paths if p != path)})" if len(paths) > 1 else ""
        yield Violation(
            message=(f"{train_path}.data_root was pointed at {train_root!r} ({train_written.where}), but "
                     f"{path}{also} still reads the base's data_root={root!r}"
                     + (f" and ann_file={ann!r}" if ann is not None else "")
                     + f" ({root_written.where}): evaluation runs on the base's dataset, or fails where it is "
                       "not installed"),
            key_path=f"{path}.data_root",
            evidence={"train_data_root": train_root, "evaluation_data_root": root, "evaluation_ann_file": ann,
                      "written": root_written.where},
            fix=f"point {path} (data_root, ann_file, data_prefix) at the same data as the training set")

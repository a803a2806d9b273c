from detaudit.rule import Violation, rule
from detaudit.rule.config import datasets_under, is_mapping, node_type, walk_dicts

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
REPEATERS = {"RepeatDataset": "times"}


@rule(code="DA887", name="dataset-with-nothing-to-read", severity="error", tier="static", needs=())
def dataset_with_nothing_to_read(ctx):
    """A dataset that cannot hold a sample: repeated zero times, or given an empty annotation file name.

    ## What it does
    Reports, in each dataloader, a ``RepeatDataset`` whose ``times`` is below 1 and a dataset given
    ``ann_file=''`` explicitly.

    ## Why is this bad?
    ``times=0`` (written to switch the repetition off) makes an empty dataset: the sampler divides
    by its length (``ZeroDivisionError``) when the loader is built. mmdet's datasets read their
    annotations from ``ann_file``: an empty name (written to test on unlabelled images) fails with
    ``FileNotFoundError: ''`` when the dataset is built, and inference on images without labels
    is a job for ``DetInferencer`` (``demo/image_demo.py``), not for the test loop.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='RepeatDataset', times=0, dataset=dict(...)))
    test_dataloader = dict(dataset=dict(ann_file='', data_prefix=dict(img='unlabelled/')))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='RepeatDataset', times=1, dataset=dict(...)))  # or no wrapper
    test_dataloader = dict(dataset=dict(ann_file='annotations/test.json', data_prefix=dict(img='test/')))
    ```
    """
    for loader in LOADERS:
        dl = ctx.cfg.get(loader, None)
        root = dl.get("dataset", None) if is_mapping(dl) else None
        for path, d in walk_dicts(root, f"{loader}.dataset"):
            key = REPEATERS.get(node_type(d).split(".")[-1])
            count = d.get(key, None) if key else None
            if isinstance(count, (int, float)) and not isinstance(count, bool) and count < 1:
                yield Violation(
                    message=f"{path}.{key} = {count!r} repeats the dataset {count!r} times: it is empty, and "
                            "building the loader fails (its sampler divides by the length)",
                    key_path=f"{path}.{key}", evidence={"times": count},
                    fix=f"{key}=1 (or drop the wrapper) to use each sample once")
        for path, ds in datasets_under(root, f"{loader}.dataset"):
            if "ann_file" in ds and ds.get("ann_file") == "":
                yield Violation(
                    message=f"{path}.ann_file is empty: {node_type(ds) or 'the dataset'} reads its samples from "
                            "that file, so building it fails (FileNotFoundError: '')",
                    key_path=f"{path}.ann_file", evidence={"type": node_type(ds)},
                    fix="name the annotation file; to run a model on unlabelled images use DetInferencer "
                        "(demo/image_demo.py) instead of the test loop")

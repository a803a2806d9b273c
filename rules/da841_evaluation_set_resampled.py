from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.merge import where

EVALUATED = ("val_dataloader", "test_dataloader")
# wrappers that show a sample more than once, or some samples and not others
RESAMPLING = {"RepeatDataset": "repeats every image `times` times", "ClassBalancedDataset":
              "repeats images of rare classes, more often the rarer", "MultiImageMixDataset":
              "mixes each image with others drawn at random (mosaic, mixup)"}


def _chain(ds, path: str, depth: int = 0):
    """(key path, dataset dict) of a loader's dataset and each single dataset it wraps."""
    while is_mapping(ds) and depth < 8:
        yield path, ds
        ds, path, depth = ds.get("dataset", None), f"{path}.dataset", depth + 1


@rule(code="DA841", name="evaluation-set-resampled", severity="warning", tier="static", needs=("source_map",))
def evaluation_set_resampled(ctx):
    """A validation or test dataset is wrapped in a dataset wrapper that repeats or resamples it.

    ## What it does
    Follows the ``dataset`` of ``val_dataloader`` and ``test_dataloader`` through its wrappers and
    reports a ``RepeatDataset`` (with ``times`` above 1), a ``ClassBalancedDataset`` or a
    ``MultiImageMixDataset`` among them. ``test_dataloader = val_dataloader`` is one finding.

    ## Why is this bad?
    Evaluation should see each image once, as it is. A repeated set predicts and scores every
    image several times: COCO-style metrics count the duplicates as more detections of the same
    objects (or refuse the repeated image ids), and the run takes that many times longer. A
    class-balanced set weights rare classes' images by how rare they are; a mixed set scores
    mosaics no test image looks like. It is what a config ends up doing when the wrapped training
    dataset of a "3x" schedule is copied into the validation keys.

    ## Example
    ```python
    val_dataloader = dict(dataset=dict(type='RepeatDataset', times=3, dataset=dict(type='CocoDataset', ...)))
    ```

    ## Use instead
    ```python
    val_dataloader = dict(dataset=dict(type='CocoDataset', ...))
    ```
    """
    sm, seen = ctx.source_map, set()
    for loader in EVALUATED:
        dl = ctx.cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for path, ds in _chain(dl.get("dataset", None), f"{loader}.dataset"):
            kind = type_name(ds.get("type", None))
            times = ds.get("times", None)
            if kind not in RESAMPLING or (kind == "RepeatDataset" and isinstance(times, (int, float)) and times <= 1):
                continue
            written = where(sm.locate(f"{path}.type"))
            if written in seen:
                break
            seen.add(written)
            how = f"{RESAMPLING[kind]}" + (f" (times={times})" if times is not None else "")
            yield Violation(
                message=(f"{path}.type = {kind!r} ({written}): it {how}, so the evaluation does not score "
                         "each image once as it is"),
                key_path=f"{path}.type", evidence={"wrapper": kind, "times": times, "loader": loader},
                fix=f"give {loader} the dataset inside the wrapper ({path}.dataset) directly")
            break

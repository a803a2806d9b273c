from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name

LOADERS = (("val_dataloader", "val_evaluator"), ("test_dataloader", "test_evaluator"))


def _concat_parts(ds, depth: int = 0) -> list | None:
    """The parts of the ConcatDataset an evaluation loader reads (through other wrappers), or None."""
    if depth > 6 or not is_mapping(ds):
        return None
    parts = ds.get("datasets", None)
    if isinstance(parts, (list, tuple)) and len(parts) >= 2:
        return list(parts)
    return _concat_parts(ds.get("dataset", None), depth + 1)


def _metrics(evaluator) -> tuple[list[tuple[str, dict]], bool]:
    """((key suffix, metric dict) of every metric, whether an evaluator that splits by part holds them)."""
    if is_mapping(evaluator):
        kind = type_name(evaluator.get("type", None)) or ""
        if "metrics" in evaluator:
            inner, _ = _metrics(evaluator["metrics"])
            return [(f"metrics.{k}" if k else "metrics", m) for k, m in inner], kind == "MultiDatasetsEvaluator"
        return [("", evaluator)], False
    if isinstance(evaluator, (list, tuple)):
        return [(str(i), m) for i, m in enumerate(evaluator) if is_mapping(m)], False
    return [], False


@rule(code="DA894", name="metric-annotations-cover-one-part", severity="error", tier="static", needs=())
def metric_annotations_cover_one_part(ctx):
    """A metric reads one annotation file while its loader evaluates a ConcatDataset of several parts.

    ## What it does
    For the validation and test loaders whose dataset is a ``ConcatDataset`` (directly or inside
    another wrapper), finds every metric of the matching evaluator that is given an ``ann_file``,
    unless the evaluator is mmdet's ``MultiDatasetsEvaluator`` (which hands each metric the slice of
    predictions of its own part).

    ## Why is this bad?
    An evaluator hands every metric the predictions for every image of the loader. A
    ``CocoMetric`` with an ``ann_file`` checks them against the images of that file: one file per
    part, or one part's file for the whole set, leaves predictions for images the file does not
    hold, and evaluation fails with "Results do not correspond to current coco set" at the end of
    the first validation, after a whole epoch of training.

    ## Example
    ```python
    val_dataloader = dict(dataset=dict(_delete_=True, type='ConcatDataset', datasets=[site_a, site_b]))
    val_evaluator = [dict(type='CocoMetric', ann_file='data/a/annotations/val.json'),
                     dict(type='CocoMetric', ann_file='data/b/annotations/val.json')]
    ```

    ## Use instead
    ```python
    val_evaluator = dict(type='MultiDatasetsEvaluator', dataset_prefixes=['site_a', 'site_b'],
                         metrics=[dict(type='CocoMetric', ann_file='data/a/annotations/val.json'),
                                  dict(type='CocoMetric', ann_file='data/b/annotations/val.json')])
    ```
    """
    for loader, key in LOADERS:
        dl = ctx.cfg.get(loader, None)
        parts = _concat_parts(dl.get("dataset", None)) if is_mapping(dl) else None
        if not parts:
            continue
        metrics, split = _metrics(ctx.cfg.get(key, None))
        given = [(suffix, m) for suffix, m in metrics if isinstance(m.get("ann_file", None), str) and m["ann_file"]]
        if split or not given:
            continue
        files = [m["ann_file"] for _, m in given]
        yield Violation(
            message=(f"{key} gives {len(given)} metric(s) an ann_file ({', '.join(repr(f) for f in files[:3])}) while "
                     f"{loader} evaluates a ConcatDataset of {len(parts)} parts: every metric receives the predictions "
                     "for the images of all parts, which one annotation file does not hold, and evaluation fails at "
                     "the end of the first validation"),
            key_path=key,
            evidence={"loader": loader, "parts": len(parts), "ann_files": files},
            fix=(f"wrap the metrics in dict(type='MultiDatasetsEvaluator', metrics=[one per part, in the order of "
                 f"datasets], dataset_prefixes=[...]) at {key}, or evaluate one ConcatDataset part per run"))

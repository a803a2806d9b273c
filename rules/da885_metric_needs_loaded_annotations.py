from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, node_type
from detaudit.rule.metric_names import metric_dicts

# metrics that score against the ground truth each data sample carries (gt_instances), not a file
FROM_SAMPLES = {"VOCMetric", "OpenImagesMetric"}
PAIRS = (("val_evaluator", "val_dataloader"), ("test_evaluator", "test_dataloader"))


def _loads_boxes(pipeline) -> bool:
    return any(hasattr(t, "get") and node_type(t).split(".")[-1] == "LoadAnnotations" and t.get("with_bbox", True)
               for t in pipeline)


@rule(code="DA885", name="metric-needs-loaded-annotations", severity="error", tier="static", needs=())
def metric_needs_loaded_annotations(ctx):
    """A metric that scores against each sample's ground truth, on a pipeline that never loads it.

    ## What it does
    For ``val_evaluator`` and ``test_evaluator`` metrics that read the ground truth from the data
    samples (``VOCMetric``, ``OpenImagesMetric``; ``CocoMetric`` reads its ``ann_file`` instead),
    checks that every pipeline of the matching dataloader has a ``LoadAnnotations`` step that loads
    boxes. Reports a pipeline without one.

    ## Why is this bad?
    ``PackDetInputs`` packs ``gt_instances`` only from what ``LoadAnnotations`` put in the results.
    Without it the samples carry no labels, and the metric fails on its first batch
    (``KeyError: 'labels'``), after a full epoch of training when it is the validation. A test
    pipeline written for inference on unlabelled images is the usual cause.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                           'scale_factor'))]
    val_evaluator = dict(type='VOCMetric', metric='mAP')
    ```

    ## Use instead
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                           'scale_factor'))]
    ```
    """
    reported = set()
    for evaluator, loader in PAIRS:
        kinds = {node_type(m).split(".")[-1] for m in metric_dicts(ctx.cfg.get(evaluator, None))}
        needs = sorted(kinds & FROM_SAMPLES)
        if not needs:
            continue
        for _loader, path, _ds, pipeline in dataloader_pipelines(ctx.cfg, (loader,)):
            if _loads_boxes(pipeline) or not any(hasattr(t, "get") and "Pack" in node_type(t) for t in pipeline):
                continue  # a wrapper's own pipeline of later steps packs what the inner one loaded
            shown = tuple(node_type(t).split(".")[-1] for t in pipeline if hasattr(t, "get"))
            if shown in reported:  # test_dataloader = val_dataloader: one pipeline, said once
                continue
            reported.add(shown)
            yield Violation(
                message=(f"{path} loads no annotations, but {evaluator} ({', '.join(needs)}) scores each sample "
                         "against the ground truth the pipeline packs: the first evaluation fails (KeyError)"),
                key_path=path, evidence={"metrics": needs, "steps": list(shown)},
                fix=f"add dict(type='LoadAnnotations', with_bbox=True) to {path} before PackDetInputs")

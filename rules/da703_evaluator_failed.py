from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA703", name="evaluator-failed", severity="error", tier="run", needs=("run_result",))
def evaluator_failed(ctx):
    """A ``val_evaluator`` or ``test_evaluator`` does not build, or fails computing its metrics.

    ## What it does
    Builds each metric of the evaluators from its own key, then lets the real evaluator compute
    its metrics on the predictions of the dry run's validation and test passes. Reports the
    evaluator's key with the error: an argument of another metric type (``CocoMetric``'s
    ``ann_file`` left on a ``VOCMetric``), a ``metric=`` the class does not compute, an
    annotation file it cannot read, an exception in ``compute_metrics``.

    ## Why is this bad?
    Validation runs at the end of the first epoch: an evaluator that fails there stops the
    training after hours, and the checkpoint of that epoch may never be written.

    ## Example
    ```python
    val_evaluator = dict(type='VOCMetric', ann_file='data/coco/annotations/instances_val2017.json', metric='mAP')
    ```

    ## Use instead
    ```python
    val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
    ```
    """
    for f in failures_of(ctx, "evaluator"):
        metric = f.detail.get("metric", "the evaluator")
        yield violation(f, f"{f.key_path} ({metric}) fails {where(f)}: {f.error.short()}",
                        "fix the evaluator's arguments (they must be those of its own type); run with --debug")

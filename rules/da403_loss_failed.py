from detaudit.rule import rule

from detaudit.rule.forward import forward_failure


@rule(code="DA403", name="loss-failed", severity="error", tier="forward", needs=("loss_result",))
def loss_failed(ctx):
    """The loss forward raises on a synthetic training batch.

    ## What it does
    Runs ``model(..., mode='loss')`` in train mode on a small synthetic batch with at least
    one ground-truth box per image and complete metainfo, and reports the exception and
    the innermost module that was executing.

    ## Why is this bad?
    Training cannot start; when it fails only in a custom head, hours of data loading and
    queueing are spent before the first iteration shows it.

    ## Example
    ```python
    model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                                            num_classes=2))))  # not an argument
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False))))
    ```
    """
    violation = forward_failure(ctx, "loss", "loss forward")
    if violation is not None:
        yield violation

from detaudit.rule import rule

from detaudit.rule.forward import forward_failure


@rule(code="DA402", name="predict-failed", severity="error", tier="forward", needs=("predict_result",))
def predict_failed(ctx):
    """The model's predict forward raises even with complete metainfo.

    ## What it does
    Runs ``model(..., mode='predict')`` in eval mode on a small synthetic batch whose data
    samples carry every key mmdet's predict paths read (``img_shape``, ``ori_shape``,
    ``scale_factor``, ``pad_shape``, and ``batch_input_shape`` from the model's own data
    preprocessor). Reports the exception and the innermost module that was executing.

    ## Why is this bad?
    Validation and testing fail, usually at the end of the first epoch. Because the
    metainfo is complete, the fault is in the model or its config, not in the input.

    ## Example
    ```python
    model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='nms', iou_threshold=None))))
    ```

    ## Use instead
    ```python
    model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='nms', iou_threshold=0.5))))
    ```
    """
    violation = forward_failure(ctx, "predict", "predict")
    if violation is not None:
        yield violation

from detaudit.rule import Violation, rule


@rule(code="DA832", name="preprocessor-records-no-batch-shape", severity="error", tier="build",
      needs=("preprocessor_metainfo",))
def preprocessor_records_no_batch_shape(ctx):
    """The detector's data preprocessor does not record the batch shapes mmdet's heads read.

    ## What it does
    Runs the built model's ``data_preprocessor`` on one sample packed as ``PackDetInputs``
    packs it and checks that it records ``batch_input_shape`` and ``pad_shape`` on the data
    sample, as ``DetDataPreprocessor`` (and every preprocessor derived from it) does. Reports
    a preprocessor of an mmdet detector that records neither or only one, naming
    ``model.data_preprocessor``.

    ## Why is this bad?
    ``PackDetInputs`` packs neither key: only the data preprocessor records them, after it
    pads the batch. A preprocessor made for another task (mmengine's ``ImgDataPreprocessor``,
    a classifier's) normalizes and pads just as well, so the config looks right, and the first
    training iteration fails in the heads with ``KeyError: 'pad_shape'`` (anchor valid flags,
    DETR's masks, test-time rescaling).

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(data_preprocessor=dict(_delete_=True, type='mmengine.ImgDataPreprocessor',
                                        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                                        bgr_to_rgb=True, pad_size_divisor=32))
    ```

    ## Use instead
    ```python
    model = dict(data_preprocessor=dict(_delete_=True, type='DetDataPreprocessor',
                                        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                                        bgr_to_rgb=True, pad_size_divisor=32))
    ```
    """
    seen = ctx.preprocessor_metainfo
    if not seen or not seen["missing"]:
        return
    missing = " and ".join(seen["missing"])
    yield Violation(
        message=(f"model.data_preprocessor ({seen['type']}) does not record {missing} on the data samples; "
                 "mmdet's detectors read them (PackDetInputs packs neither), so training fails at its first "
                 "iteration: use DetDataPreprocessor or a preprocessor derived from it"),
        key_path="model.data_preprocessor",
        evidence={"type": seen["type"], "module": seen["module"], "recorded": seen["recorded"],
                  "missing": seen["missing"]},
        fix="type='DetDataPreprocessor' with the same mean, std, bgr_to_rgb and pad_size_divisor")

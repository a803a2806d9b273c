from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where

# MMDetection 2.x transforms that 3.x does not register, and what replaces them.
LEGACY_TRANSFORMS = {
    "Collect": "PackDetInputs (with meta_keys=...)", "DefaultFormatBundle": "PackDetInputs",
    "ImageToTensor": "PackDetInputs", "ToTensor": "PackDetInputs",
    "Normalize": "mean/std in model.data_preprocessor (DetDataPreprocessor)",
    "Pad": "pad_size_divisor in model.data_preprocessor (or Pad with size_divisor in 3.x form)",
    "MultiScaleFlipAug": "TestTimeAug",
}


@rule(code="DA702", name="pipeline-transform-failed", severity="error", tier="run", needs=("run_result",))
def pipeline_transform_failed(ctx):
    """A transform of a data pipeline does not build, or fails on a sample.

    ## What it does
    Builds every step of every dataset's ``pipeline`` from its own key, then runs the pipelines
    on the samples of the dry run (synthetic data in the dataset's format, or the first real
    samples). Reports the pipeline's key path, the step index and the transform type: a type no
    registry knows (an MMDetection 2.x transform such as ``Collect``), an argument it does not
    take, or an exception on a sample (a key an earlier step never produced).

    ## Why is this bad?
    A training pipeline fails at the first iteration; a validation or test pipeline at the end of
    the first epoch, after a day of training.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1333, 800), keep_ratio=True),
                     dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]
    ```

    ## Use instead
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1333, 800), keep_ratio=True),
                     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                                           'scale_factor'))]
    ```
    """
    for f in failures_of(ctx, "pipeline"):
        name = f.detail.get("transform", "?")
        step = f.detail.get("step")
        pipeline = f.detail.get("pipeline", f.key_path)
        fix = (f"replace {name} with {LEGACY_TRANSFORMS[name]}" if name in LEGACY_TRANSFORMS
               else "fix the step named here; run with --debug for the traceback")
        yield violation(f, f"{pipeline} step {step} ({name}) fails {where(f)}: {f.error.short()}", fix)

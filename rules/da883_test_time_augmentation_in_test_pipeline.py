from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, node_type
from detaudit.rule.merge import where


@rule(code="DA883", name="test-time-augmentation-in-test-pipeline", severity="error", tier="static", needs=("source_map",))
def test_time_augmentation_in_test_pipeline(ctx):
    """``TestTimeAug`` in a validation or test dataloader's pipeline, where one sample per image is read.

    ## What it does
    Reports a ``TestTimeAug`` step in the pipeline of ``val_dataloader`` or ``test_dataloader``
    (through wrappers), outside ``tta_pipeline``.

    ## Why is this bad?
    ``TestTimeAug`` turns each image into a list of augmented samples (a scale, a flip each), and
    only ``tta_model`` (``DetTTAModel``, switched on by ``--tta``) knows how to run them and merge
    the results. The plain validation and test loops hand the lists to the detector's data
    preprocessor, which fails on the first batch (``TypeError``), after a whole epoch of training
    when it is the validation pipeline.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='TestTimeAug', transforms=[[dict(type='Resize', scale=s, keep_ratio=True)
                                                           for s in [(1333, 640), (1333, 800)]],
                                                          [dict(type='PackDetInputs')]])]
    test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
    ```

    ## Use instead
    ```python
    tta_model = dict(type='DetTTAModel', tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    tta_pipeline = [dict(type='LoadImageFromFile'), dict(type='TestTimeAug', transforms=[...])]
    # and run: python tools/test.py CONFIG CHECKPOINT --tta
    ```
    """
    sm, seen = ctx.source_map, set()
    for _loader, path, _ds, pipeline in dataloader_pipelines(ctx.cfg, ("val_dataloader", "test_dataloader")):
        for i, step in enumerate(pipeline):
            if hasattr(step, "get") and node_type(step).split(".")[-1] == "TestTimeAug":
                written = where(sm.locate(f"{path}.{i}"))
                if written in seen:  # test_dataloader = val_dataloader: one step written once
                    continue
                seen.add(written)
                yield Violation(
                    message=(f"{path}.{i} is TestTimeAug: it makes a list of augmented samples of each image, which "
                             "only tta_model merges; the plain evaluation loop fails on the first batch"),
                    key_path=f"{path}.{i}", evidence={"step": i},
                    fix="move the TestTimeAug pipeline to tta_pipeline (with a tta_model) and give this loader "
                        "the plain test pipeline")

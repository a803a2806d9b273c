from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, node_type

# transforms that draw a random value on every sample (augmentations for training)
RANDOM = frozenset({"RandomFlip", "RandomResize", "RandomChoiceResize", "RandomCrop", "RandomAffine", "Mosaic",
                    "MixUp", "CachedMosaic", "CachedMixUp", "PhotoMetricDistortion", "YOLOXHSVRandomAug",
                    "RandomShift", "Expand", "MinIoURandomCrop", "CutOut", "RandomErasing", "RandAugment",
                    "AutoAugment", "RandomApply", "RandomOrder", "CopyPaste", "RandomChoice", "ColorTransform",
                    "BrightnessTransform", "ContrastTransform", "Rotate", "ShearX", "ShearY", "TranslateX",
                    "TranslateY"})


def _random(t) -> bool:
    kind = node_type(t).split(".")[-1]
    if kind not in RANDOM:
        return False
    prob = t.get("prob", None)
    if kind == "RandomFlip":
        return isinstance(prob, (int, float)) and prob > 0 or isinstance(prob, (list, tuple)) and sum(prob) > 0
    return not (isinstance(prob, (int, float)) and prob == 0)


@rule(code="DA813", name="random-augmentation-in-evaluation", severity="warning", tier="static", needs=())
def random_augmentation_in_evaluation(ctx):
    """A validation or test pipeline applies random training augmentations.

    ## What it does
    Lists, for every dataset behind ``val_dataloader`` and ``test_dataloader``, the top-level steps
    of its pipeline that draw a random value per sample (``RandomFlip`` with ``prob`` > 0,
    ``RandomResize``, ``RandomCrop``, ``Mosaic``, ``MixUp``, ``PhotoMetricDistortion``...). Steps
    inside ``TestTimeAug``, whose branches flip on purpose and whose results are merged back, are
    not reported.

    ## Why is this bad?
    Evaluation measures one fixed view of each image. A training pipeline given to the validation
    dataset (``pipeline=train_pipeline``) flips half the images without flipping the predictions
    back, resizes each image to a random scale and changes colours: the metric moves from run to
    run and is lower than the model's, with no error anywhere.

    ## Example
    ```python
    val_dataloader = dict(dataset=dict(pipeline=train_pipeline))
    ```

    ## Use instead
    ```python
    val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
    ```
    """
    seen = set()
    for loader, path, ds, pipeline in dataloader_pipelines(ctx.cfg, ("val_dataloader", "test_dataloader")):
        steps = [(i, node_type(t).split(".")[-1]) for i, t in enumerate(pipeline) if hasattr(t, "get") and _random(t)]
        if not steps or id(pipeline) in seen:
            continue
        key = tuple(map(str, steps))
        if (loader == "test_dataloader" and ("val", key) in seen) or ("test", key) in seen:
            continue
        seen.add(("val" if loader == "val_dataloader" else "test", key))
        yield Violation(
            message=(f"{path} draws random augmentations at evaluation: "
                     + ", ".join(f"step {i} {kind}" for i, kind in steps)
                     + " (a training pipeline on an evaluation dataset?)"),
            key_path=path, evidence={"steps": [{"index": i, "type": kind} for i, kind in steps]},
            fix="give the evaluation datasets the test pipeline (deterministic resize, no flips or colour changes)")

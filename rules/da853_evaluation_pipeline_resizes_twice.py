from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, node_type
from detaudit.rule.merge import where

# transforms that resize the image and write scale_factor as the factor of their own resize
RESIZES = frozenset({"Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize", "FixScaleResize",
                     "ResizeShortestEdge"})


@rule(code="DA853", name="evaluation-pipeline-resizes-twice", severity="warning", tier="static",
      needs=("source_map",))
def evaluation_pipeline_resizes_twice(ctx):
    """A validation or test pipeline resizes the image twice: predictions are mapped back with the last factor only.

    ## What it does
    Finds, in the top-level steps of every pipeline behind ``val_dataloader`` and
    ``test_dataloader``, more than one resizing step (``Resize``, ``RandomResize``,
    ``RandomChoiceResize``, ``FixShapeResize``...), and reports the first at its key.
    Test-time augmentation (``TestTimeAug``) runs each branch separately and is not counted.

    ## Why is this bad?
    Each resize writes ``scale_factor`` as the factor of its own resize, from the image it was
    given: it overwrites the factor of the resize before it instead of multiplying it. The
    model predicts on the last image, and the boxes are mapped back to the original image with
    the last factor only, so they land at the wrong scale and the evaluation is wrong with no
    error. A resize added in front of the existing one to test at another resolution also has
    no effect on the input: the second resize brings the image back to its own scale.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(320, 240), keep_ratio=False),   # lower resolution
                     dict(type='Resize', scale=(640, 480), keep_ratio=False),
                     dict(type='PackDetInputs')]
    ```

    ## Use instead
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(320, 240), keep_ratio=False),
                     dict(type='PackDetInputs')]
    ```
    """
    sm, seen = ctx.source_map, set()
    for _, path, _, pipeline in dataloader_pipelines(ctx.cfg, ("val_dataloader", "test_dataloader")):
        steps = [(i, node_type(t).split(".")[-1]) for i, t in enumerate(pipeline)
                 if hasattr(t, "get") and node_type(t).split(".")[-1] in RESIZES]
        if len(steps) < 2:
            continue
        first = f"{path}.{steps[0][0]}"
        written = where(sm.locate(first))
        if written in seen:  # test_dataloader = val_dataloader: once
            continue
        seen.add(written)
        listed = ", ".join(f"step {i} {kind}" for i, kind in steps)
        yield Violation(
            message=(f"{path} resizes the image {len(steps)} times ({listed}; the first at {written}): each "
                     f"resize overwrites scale_factor with its own factor, so predictions are mapped back to "
                     f"the original image with the last factor only, at the wrong scale"),
            key_path=first, evidence={"steps": [{"index": i, "type": kind} for i, kind in steps]},
            fix="resize once, to the scale the evaluation is meant to run at")

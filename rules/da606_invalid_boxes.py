from detaudit.rule import Violation, rule


@rule(code="DA606", name="invalid-boxes", severity="warning", tier="build", needs=("data_checks",))
def invalid_boxes(ctx):
    """Annotation boxes are degenerate, outside their image, malformed, or written in the wrong format.

    ## What it does
    Checks every box of each dataset whose data is on this machine: boxes that are not four
    numbers, COCO annotations without ``area`` or naming an image the file does not list, boxes
    under 1 px wide or high (dropped by training), boxes entirely outside their image (dropped)
    or reaching past its edge, and COCO files whose boxes read as ``[x1, y1, x2, y2]`` where
    ``[x, y, w, h]`` is read (most spill past their image as ``xywh`` while all fit as ``xyxy``).

    ## Why is this bad?
    Dropped boxes are objects the model is taught are background; boxes in the wrong format
    train every object at the wrong place and size, with losses that still go down. A missing
    ``area`` stops CocoDataset with a KeyError when training starts.

    ## Example
    ```python
    # instances.json: "bbox": [40, 30, 120, 90] meant as x1, y1, x2, y2
    train_dataloader = dict(dataset=dict(type='CocoDataset', ann_file='instances.json'))
    ```

    ## Use instead
    ```python
    # instances.json: "bbox": [40, 30, 80, 60]  (x, y, width, height)
    train_dataloader = dict(dataset=dict(type='CocoDataset', ann_file='instances.json'))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA606":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

from detaudit.rule import Violation, rule


@rule(code="DA607", name="invalid-masks", severity="warning", tier="build", needs=("data_checks",))
def invalid_masks(ctx):
    """Instance masks or polygons of the annotations do not parse, or are missing where the pipeline loads them.

    ## What it does
    Checks every segmentation of each dataset whose data is on this machine: polygons with fewer
    than three points or an odd number of coordinates, values that are not numbers, empty
    polygon lists, RLEs without ``counts``/``size`` or of another size than their image. Says
    whether the pipeline loads masks (``LoadAnnotations(with_mask=True)``), and when it does,
    reports annotations that carry no mask at all.

    ## Why is this bad?
    A mask model fails in the middle of an epoch on the first broken polygon its sampler draws,
    or learns from a mask that is not the object.

    ## Example
    ```python
    # instances.json: "segmentation": [[10, 10, 50, 10]]  (two points)
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_mask=True)]
    ```

    ## Use instead
    ```python
    # instances.json: "segmentation": [[10, 10, 50, 10, 50, 40, 10, 40]]
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_mask=True)]
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA607":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

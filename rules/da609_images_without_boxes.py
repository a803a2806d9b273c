from detaudit.rule import Violation, rule


@rule(code="DA609", name="images-without-boxes", severity="info", tier="build", needs=("data_checks",))
def images_without_boxes(ctx):
    """Images have no annotation that trains, and what ``filter_cfg`` does with them.

    ## What it does
    Counts, per split whose data is on this machine, the images with no annotation and those
    whose annotations all drop out (crowd, ignored, degenerate or of other classes), and how many
    images the dataset's ``filter_cfg`` (``filter_empty_gt``, ``min_size``) removes. Also reports
    a split where most boxes, or every box of a class, are crowd or ignored.

    ## Why is this bad?
    Images without boxes train as pure background: fine for a few, a waste or a bias for many.
    With ``filter_empty_gt`` they are dropped, which may remove far more of the data than
    intended when the classes do not match.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=True, min_size=32)))
    # 40% of the images carry only categories that are not configured
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=(...all annotated classes...)),
                                         filter_cfg=dict(filter_empty_gt=True, min_size=32)))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA609":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

from detaudit.rule import Violation, rule


@rule(code="DA605", name="annotation-classes-mismatch", severity="error", tier="build", needs=("data_checks",))
def annotation_classes_mismatch(ctx):
    """The classes of the config do not match the categories of the annotation files.

    ## What it does
    Reads every annotation of each dataset whose data is on this machine (all of it, not the
    first samples) and compares the category names with ``metainfo.classes``: configured classes
    the annotations never name (with the near miss by case, spacing or spelling when there is
    one), annotation categories that are not configured (their boxes are dropped), categories
    named twice, and, for COCO files, the order: CocoDataset numbers the configured classes in the
    order of the file's ``categories``, not of ``metainfo.classes``.

    ## Why is this bad?
    A class the annotations never name trains on no boxes, and with COCO files every later class
    moves down one label: boxes of ``'car'`` train as the label that metainfo, and so the
    visualizer and every inference script reading the checkpoint's ``dataset_meta``, call
    ``'truck'``. Nothing fails (the COCO evaluator looks the names up in the file, so its table
    looks right); the predictions carry shifted names (mmdetection#9611).

    ## Example
    ```python
    # instances.json: categories [{"id": 1, "name": "Person"}, {"id": 2, "name": "car"}]
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person', 'car'))))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('Person', 'car'))))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA605":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

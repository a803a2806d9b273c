from detaudit.rule import Violation, rule


@rule(code="DA608", name="duplicate-annotations", severity="warning", tier="build", needs=("data_checks",))
def duplicate_annotations(ctx):
    """The annotations list an image or an annotation more than once.

    ## What it does
    Looks for repeated image ids, image files listed twice, annotation ids used twice (which
    CocoDataset refuses) and annotations that repeat another of the same image, category and
    box, in each dataset whose data is on this machine.

    ## Why is this bad?
    A repeated image trains twice as often as the others; a repeated annotation weighs its
    object twice and, in evaluation, counts a second ground truth that no prediction can match
    (recall capped below 1). Repeated annotation ids stop CocoDataset at start-up.

    ## Example
    ```python
    # instances.json: two annotations {"image_id": 3, "category_id": 1, "bbox": [5, 5, 20, 20]}
    train_dataloader = dict(dataset=dict(ann_file='instances.json'))
    ```

    ## Use instead
    ```python
    # instances.json: each object annotated once, ids unique
    train_dataloader = dict(dataset=dict(ann_file='instances.json'))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA608":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

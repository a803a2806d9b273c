from detaudit.rule import Violation, rule


@rule(code="DA611", name="objects-no-anchor-matches", severity="warning", tier="build", needs=("data_checks",))
def objects_no_anchor_matches(ctx):
    """Objects of the data that no anchor of the model can match.

    ## What it does
    Scales every box of the training data as the pipeline's ``Resize`` scales its image and
    compares it with the shapes of each ``AnchorGenerator`` in the model (``strides``, ``ratios``,
    ``scales`` or ``octave_base_scale``) and ``YOLOAnchorGenerator`` (``base_sizes``): an object
    whose best IoU with any anchor shape, centred on it, is below what its ``MaxIoUAssigner`` or
    ``GridAssigner`` accepts (``min_pos_iou`` with low-quality matches, the default, else
    ``pos_iou_thr``; never below 0.1) cannot be a positive of that head.
    Reported when it concerns at least 1% of the objects. Anchor-free heads and other assigners
    (ATSS, task-aligned) are not checked.

    ## Why is this bad?
    Those objects are never assigned an anchor above the threshold: the head learns them only
    through low-quality matches, or not at all, and recall on them stays low however long it
    trains. Typical with small objects (pedestrians far away, thermal images) and COCO anchors.

    ## Example
    ```python
    model = dict(rpn_head=dict(anchor_generator=dict(type='AnchorGenerator', scales=[8],
                                                     ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])))
    # objects of 6-12 px after resizing; the smallest anchor is 32 px
    ```

    ## Use instead
    ```python
    model = dict(rpn_head=dict(anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8],
                                                     ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA611":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

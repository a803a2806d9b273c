from detaudit.rule import FactUnavailable, Violation, rule


@rule(code="DA711", name="annotation-classes-missing", severity="error", tier="run", needs=("run_result",))
def annotation_classes_missing(ctx):
    """The real annotations never name some of the config's classes.

    ## What it does
    When the run tier reads the configured data (it is on this machine; ``--data auto`` or
    ``real``), it reads the class names the annotation files use for the first samples and
    compares them with the config's ``metainfo.classes``. Reports each configured class the
    annotations do not name, with the names they do use (``pedestrian`` where the config says
    ``person``).

    ## Why is this bad?
    MMDetection's datasets keep only the boxes of the configured classes: a class the annotations
    call by another name trains on no boxes at all. The loss still goes down, on the background.

    ## Example
    ```python
    metainfo = dict(classes=('person', ))          # the annotation files say 'pedestrian'
    ```

    ## Use instead
    ```python
    metainfo = dict(classes=('pedestrian', ))
    ```
    """
    surveys = ctx.run_result.surveys
    if not surveys:
        raise FactUnavailable("run_result", "the run read no real data (it is not on this machine, or --data synthetic)")
    for path, survey in surveys.items():
        if survey.annotation_names is None or not survey.classes_not_in_annotations:
            continue
        missing = survey.classes_not_in_annotations
        used = sorted(survey.annotation_names)
        yield Violation(
            message=f"{path}: the annotations of its first {survey.samples} sample(s) never name "
                    f"{', '.join(repr(c) for c in missing)}; they name {', '.join(repr(n) for n in used) or 'nothing'}: "
                    f"those classes train on no boxes",
            key_path=f"{path}.metainfo.classes",
            evidence={"missing": missing, "annotation_names": survey.annotation_names,
                      "boxes_per_class": survey.boxes_per_class, "samples": survey.samples},
            fix="use the class names the annotations use in metainfo.classes (in the order of the head's classes)")

from detaudit.rule import FactUnavailable, Violation, rule


@rule(code="DA712", name="image-files-missing", severity="error", tier="run", needs=("run_result",))
def image_files_missing(ctx):
    """The real annotations name image files that are not where the config looks for them.

    ## What it does
    When the run tier reads the configured data, it checks that the image file of each of the
    first samples exists, as ``data_root`` and ``data_prefix`` compose its path. Reports the
    dataset with the missing paths.

    ## Why is this bad?
    Loading fails at the first sample whose image is missing: at the first iteration for a wrong
    prefix, or hours in for a partly copied dataset.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(data_root='data/coco/', data_prefix=dict(img='train/')))
    # the images are in data/coco/train2017/
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(data_root='data/coco/', data_prefix=dict(img='train2017/')))
    ```
    """
    surveys = ctx.run_result.surveys
    if not surveys:
        raise FactUnavailable("run_result", "the run read no real data (it is not on this machine, or --data synthetic)")
    for path, survey in surveys.items():
        if not survey.missing_images:
            continue
        shown = survey.missing_images[:3]
        yield Violation(
            message=f"{path}: {len(survey.missing_images)} of the image files its first {survey.samples} sample(s) "
                    f"name do not exist, e.g. {', '.join(shown)}",
            key_path=f"{path}.data_prefix", evidence={"missing": survey.missing_images[:20], "samples": survey.samples},
            fix="point data_root and data_prefix at the folder that holds the images")

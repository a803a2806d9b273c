from detaudit.rule import FactUnavailable, Violation, rule


@rule(code="DA713", name="all-samples-filtered", severity="error", tier="run", needs=("run_result",))
def all_samples_filtered(ctx):
    """The dataset's ``filter_cfg`` removes every sample of the real data.

    ## What it does
    When the run tier reads the configured data, it builds each dataset with its own
    ``filter_cfg`` and, if nothing is left, again without it. Reports a dataset whose samples all
    exist but are all filtered away (``filter_empty_gt`` on annotations of other classes, a
    ``min_size`` larger than the images).

    ## Why is this bad?
    A training set that filters to nothing makes the sampler fail at start-up, or an epoch with no
    iterations that never trains and never validates.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=True, min_size=1024)))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=True, min_size=32)))
    ```
    """
    surveys = ctx.run_result.surveys
    if not surveys:
        raise FactUnavailable("run_result", "the run read no real data (it is not on this machine, or --data synthetic)")
    for path, survey in surveys.items():
        if survey.filtered_away:
            yield Violation(
                message=f"{path}: its filter_cfg removes every one of its first {survey.samples} sample(s)",
                key_path=f"{path}.filter_cfg", evidence={"samples": survey.samples,
                                                         "boxes_per_class": survey.boxes_per_class},
                fix="loosen filter_cfg (min_size, filter_empty_gt) or fix the annotations' classes")

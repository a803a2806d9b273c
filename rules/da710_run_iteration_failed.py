from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA710", name="run-iteration-failed", severity="error", tier="run", needs=("run_result",))
def run_iteration_failed(ctx):
    """The model fails on a batch the config's own pipeline and loader produced.

    ## What it does
    Where the forward tier feeds the model a synthetic batch with complete metainfo, the dry run
    feeds it what the config's dataloaders really produce: the dataset, the pipeline, the
    sampler and the collate function, through the Runner's ``train_step``, ``val_step`` and
    ``test_step``. Reports the stage (training iteration, validation, test), the exception and
    the deepest module running: a test pipeline that packs samples predict cannot use, ground
    truth the pipeline does not load (masks for a mask head), a batch of the wrong shape.

    ## Why is this bad?
    Each of these stops the training at its first iteration, or at its first validation after
    an epoch, although the model itself is fine.

    ## Example
    ```python
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                      dict(type='PackDetInputs')]   # for a Mask R-CNN: no masks loaded
    ```

    ## Use instead
    ```python
    train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                      dict(type='PackDetInputs')]
    ```
    """
    for f in failures_of(ctx, "iteration"):
        module = f.detail.get("module")
        inside = f" in '{module}'" if module else ""
        name = f.detail.get("metainfo")
        if name:  # the pipeline packs no such metainfo: the pipeline is what to edit
            yield violation(f, f"the model fails {where(f)} on the batch the config's own data produces: it reads "
                               f"'{name}' from the samples' metainfo{inside}, and {f.detail['transform']} "
                               f"({f.detail['packer']}) lists '{name}' in meta_keys but no step before it sets it",
                            f"add the step that sets '{name}' to the pipeline (or drop what needs it)")
            continue
        if f.error.type in ("ImportError", "ModuleNotFoundError"):
            yield violation(f, f"the model fails {where(f)}: it needs a package that is not installed: "
                               f"{f.error.short()}{inside}",
                            "install the package the message names in the training environment")
            continue
        yield violation(f, f"the model fails {where(f)} on the batch the config's own data produces: "
                           f"{f.error.short()}{inside}",
                        "compare what the pipeline packs with what the model reads (masks, metainfo, shapes); "
                        "run with --debug for the traceback")

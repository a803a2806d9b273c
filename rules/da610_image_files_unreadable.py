from detaudit.rule import Violation, rule


@rule(code="DA610", name="image-files-unreadable", severity="warning", tier="build", needs=("data_checks",))
def image_files_unreadable(ctx):
    """Image files the annotations name are missing, empty or not images.

    ## What it does
    Samples up to 50 image files per split in the audit (200, or all, with ``detaudit data``)
    of each dataset whose annotations are on this machine, and checks that each exists, is not
    empty and starts like an image file (PNG, JPEG, BMP, GIF, TIFF, WebP); ``detaudit data
    --decode`` decodes them too. The finding gives the count and the share of the split.

    ## Why is this bad?
    A missing or broken image stops training when the sampler reaches it, possibly hours in;
    a wrong ``data_prefix`` makes every image missing.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(data_root='data/coco/', data_prefix=dict(img='images/')))
    # the images are in data/coco/train2017/
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(data_root='data/coco/', data_prefix=dict(img='train2017/')))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA610":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

from detaudit.rule import Violation, rule


@rule(code="DA612", name="annotation-file-unreadable", severity="error", tier="build", needs=("data_checks",))
def annotation_file_unreadable(ctx):
    """An annotation file cannot be read, or holds what its dataset class does not read.

    ## What it does
    Reads each configured annotation file whose data is on this machine and reports one that is
    a directory, is not valid JSON (truncated files say so), or makes the dataset class fail; for
    VOC XML, objects carrying tags the dataset class never reads. ``detaudit data`` also reports a
    file larger than it reads (``DETAUDIT_DATA_MAX_BYTES``, default 1 GiB); the audit reads files
    up to 256 MiB and leaves larger ones to ``detaudit data``.

    ## Why is this bad?
    Training fails when the dataset is built, after the model and the checkpoint have loaded, or
    silently ignores what the annotator wrote under an unexpected tag.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train.json'))
    # the copy of instances_train.json stopped at 2 GB
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train.json'))
    # re-copied whole: python -m json.tool instances_train.json > /dev/null succeeds
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA612":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

from detaudit.rule import Violation, rule


@rule(code="DA613", name="semantic-maps-missing", severity="error", tier="build", needs=("data_checks",))
def semantic_maps_missing(ctx):
    """The pipeline loads semantic or panoptic maps that the data on this machine does not have.

    ## What it does
    For each dataset whose data is on this machine and whose pipeline reads ``seg_map_path``
    (``LoadAnnotations(with_seg=True)``, ``LoadPanopticAnnotations``), builds the dataset through
    its own class and looks at the maps it names: none at all (``data_prefix`` has no ``seg``),
    or files that are not on disk (up to 5000 looked for).

    ## Why is this bad?
    Without a ``seg`` prefix both loaders return without a map and say nothing: a semantic or
    panoptic head trains without its targets, or fails later on a key no step produced. A map
    file that is missing stops the training with ``FileNotFoundError`` at whichever sample the
    sampler draws first without one, possibly hours in.

    ## Example
    ```python
    train_pipeline = [dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True, with_mask=True, with_seg=True), ...]
    train_dataloader = dict(dataset=dict(type='CocoDataset', data_prefix=dict(img='train2017/'), ...))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset',
                                         data_prefix=dict(img='train2017/', seg='stuffthingmaps/train2017/'), ...))
    ```
    """
    for finding in ctx.data_checks.findings:
        if finding.code == "DA613":
            yield Violation(message=finding.message, key_path=finding.key_path,
                            evidence=dict(finding.evidence, split=finding.split), fix=finding.fix)

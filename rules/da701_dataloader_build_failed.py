from detaudit.rule import FactUnavailable, rule
from detaudit.rule.merge import short_type
from detaudit.rule.run import failures_of, violation

LEGACY_ARGUMENTS = {
    "img_prefix": "data_prefix=dict(img=...)", "seg_prefix": "data_prefix=dict(seg=...)",
    "classes": "metainfo=dict(classes=...)", "filter_empty_gt": "filter_cfg=dict(filter_empty_gt=...)",
    "min_size": "filter_cfg=dict(min_size=...)",
}


@rule(code="DA701", name="dataloader-build-failed", severity="error", tier="run", needs=("run_result", "type_changes"))
def dataloader_build_failed(ctx):
    """A dataloader's dataset, dataset wrapper, sampler or collate function does not build.

    ## What it does
    Builds each dataloader of the config as the Runner does: the dataset (through its wrappers:
    ``RepeatDataset``, ``ConcatDataset``, ``MultiImageMixDataset``...), the sampler and the collate
    function, on data in the dataset's own format. Reports what does not build with the key to
    edit: an argument the class does not take (``train_dataloader.dataset.img_prefix``, an MMDetection
    2.x argument), dataset arguments written on a wrapper, a sampler type no registry knows. When
    the argument was written for the dict's earlier ``type`` (a child changed a wrapper's type
    to the dataset's and the wrapper's ``dataset`` key stayed), the key to edit is that ``type``.

    ## Why is this bad?
    The Runner builds the train dataloader when training starts and the validation one at the end
    of the first epoch: a validation dataset that does not build crashes the job hours in.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', ann_file='train.json', img_prefix='train2017/'))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', ann_file='train.json',
                                         data_prefix=dict(img='train2017/')))
    ```
    """
    try:
        changes = {c.key_path: c for c in ctx.type_changes}
    except FactUnavailable:
        changes = {}
    for f in failures_of(ctx, "dataloader"):
        arg = f.detail.get("argument")
        part = f.detail.get("part", "dataset")
        owner = (f.key_path or "").rsplit(".", 1)[0]
        change = changes.get(owner) if arg and f.key_path == f"{owner}.{arg}" else None
        if f.error.type == "TypeError" and change is not None and arg in change.kept:
            old, new = short_type(change.old_type), short_type(change.new_type)
            v = violation(f, (f"{owner}.type: the type was changed from {old} to {new} without _delete_=True, and "
                              f"the {old} argument '{arg}' stayed, which {new} does not take ({part} fails when "
                              "the Runner builds it)"),
                          f"keep {owner}.type={old!r} and set the inner dataset under {owner}.{arg}, or add "
                          f"_delete_=True and write the {new} alone")
            v.key_path = f"{owner}.type"
            yield v
            continue
        if f.error.type == "TypeError" and arg:
            what = f"does not take the argument '{arg}'"
            fix = (f"use {LEGACY_ARGUMENTS[arg]} (the MMDetection 3.x form)" if arg in LEGACY_ARGUMENTS
                   else f"remove '{arg}' or move it to the object that takes it (a wrapper's 'dataset')")
        else:
            what = f"fails: {f.error.short()}"
            fix = "fix the key named here; run with --debug for the traceback"
        yield violation(f, f"{f.key_path} ({part}) {what}", fix)

from detaudit.rule import Violation, rule
from detaudit.rule.config import annotation_file, dataset_leaves
from detaudit.rule.merge import where

EVALUATED = ("val_dataloader", "test_dataloader")




@rule(code="DA828", name="evaluation-on-training-data", severity="warning", tier="static", needs=("source_map",))
def evaluation_on_training_data(ctx):
    """A validation or test dataset reads the annotation file a training dataset reads.

    ## What it does
    Joins each dataset's ``ann_file`` with its ``data_root`` (as mmengine does) for every real
    dataset behind ``train_dataloader`` (through ``RepeatDataset``, ``ConcatDataset`` and other
    wrappers) and behind ``val_dataloader``/``test_dataloader``, and reports an evaluated
    dataset whose annotation file is one the training reads. ``test_dataloader = val_dataloader``
    is one finding.

    ## Why is this bad?
    Every mAP the validation reports is then measured on images the model trains on: it climbs
    as the model memorises them, ``save_best`` keeps the most overfitted checkpoint, and nothing
    says how the model does on unseen images. It is what a config ends up doing when a dataset
    has no labelled validation split and the validation keys are pointed at the training files
    to make the run start.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(data_root='data/contest/', ann_file='annotations/train.json'))
    val_dataloader = dict(dataset=dict(data_root='data/contest/', ann_file='annotations/train.json'))
    ```

    ## Use instead
    ```python
    # hold out part of the labelled images as a validation split of their own
    train_dataloader = dict(dataset=dict(data_root='data/contest/', ann_file='annotations/train_split.json'))
    val_dataloader = dict(dataset=dict(data_root='data/contest/', ann_file='annotations/val_split.json'))
    ```
    """
    cfg = ctx.cfg
    trained = {}
    for loader, path, ds in dataset_leaves(cfg):
        if loader == "train_dataloader" and annotation_file(ds):
            trained.setdefault(annotation_file(ds), path)
    if not trained:
        return
    sm = ctx.source_map
    seen = set()
    for loader, path, ds in dataset_leaves(cfg):
        if loader not in EVALUATED:
            continue
        ann = annotation_file(ds)
        if ann not in trained:
            continue
        written = (where(sm.locate(f"{path}.ann_file")), ann)
        if written in seen:  # test_dataloader = val_dataloader: once
            continue
        seen.add(written)
        train_path = trained[ann]
        yield Violation(
            message=(f"{path} reads {ann!r} ({where(sm.locate(f'{path}.ann_file'))}), the annotation file "
                     f"{train_path} trains on ({where(sm.locate(f'{train_path}.ann_file'))}): every "
                     f"{loader.split('_')[0]} metric is measured on training images"),
            key_path=f"{path}.ann_file", evidence={"ann_file": ann, "training_dataset": train_path},
            fix=("split the labelled images into a training and a validation file and point "
                 f"{path}.ann_file (and the evaluator's ann_file) at the validation one"))

import json
import os
import posixpath
import re

from detaudit.rule import Violation, rule
from detaudit.rule.config import annotation_file, datasets_under, is_mapping, node_type
from detaudit.rule.merge import short_type, where

PAIRS = (("val_evaluator", "val_dataloader"), ("test_evaluator", "test_dataloader"))


def _metrics(evaluator, key):
    """(key path, metric dict) of an evaluator given as a dict, a list, or an Evaluator(metrics=...)."""
    if isinstance(evaluator, (list, tuple)):
        return [(f"{key}.{i}", m) for i, m in enumerate(evaluator) if is_mapping(m)]
    if is_mapping(evaluator):
        inner = evaluator.get("metrics", None)
        if node_type(evaluator) == "Evaluator" and inner is not None:
            return _metrics(inner, f"{key}.metrics")
        return [(key, evaluator)]
    return []


def _is_voc(dataset_type: str) -> bool:
    return "VOC" in dataset_type or dataset_type == "XMLDataset"




# COCO's image-info files (test-dev, unlabeled): image lists without annotations
IMAGE_INFO = re.compile(r"image_info|test-?dev|test_dev|unlabel", re.I)
_SMALL = 64 * 1024 * 1024  # an annotation file read whole to see whether it has annotations


def _unlabelled(ann: str, base_dir) -> str | None:
    """Why the annotation file has no labels to score against (None: it may have)."""
    name = posixpath.basename(ann)
    if IMAGE_INFO.search(name):
        return f"{name!r} is an image-info file (an image list without annotations)"
    path = ann if os.path.isabs(ann) or base_dir is None else os.path.join(str(base_dir), ann)
    try:
        if not path.endswith(".json") or not os.path.isfile(path) or os.path.getsize(path) > _SMALL:
            return None
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and "images" in data and not data.get("annotations"):
        return f"{ann!r} lists {len(data['images'])} images and no annotations"
    return None


@rule(code="DA805", name="evaluator-data-mismatch", severity="error", tier="static",
      needs=("source_map", "type_changes"))
def evaluator_data_mismatch(ctx):
    """The evaluator does not evaluate the data its dataloader loads.

    ## What it does
    Compares ``val_evaluator``/``test_evaluator`` with the dataset of ``val_dataloader``/
    ``test_dataloader``: a metric's ``ann_file`` that differs from the dataset's ``ann_file``
    joined with its ``data_root`` (as mmengine joins them; a panoptic dataset's instance
    metric reads the instance file of the same images by design); a COCO-style metric with an
    ``ann_file`` over a VOC dataset; and ``format_only=True`` without ``outfile_prefix``.
    An ``ann_file`` kept from a base metric whose type was changed is DA801's.

    ## Why is this bad?
    A COCO metric scores predictions against its own ``ann_file``, not against the
    dataset: when a child config points the dataset at new annotations and leaves the
    evaluator on the base's ``instances_val2017.json``, validation either crashes (image ids
    that do not exist) or, worse, reports numbers for the wrong ground truth. A metric with
    ``format_only=True`` and no ``outfile_prefix`` fails when it is built.

    ## Example
    ```python
    val_dataloader = dict(dataset=dict(data_root='data/cats/', ann_file='annotations/val.json'))
    val_evaluator = dict(type='CocoMetric')   # ann_file: the base's data/coco/annotations/instances_val2017.json
    ```

    ## Use instead
    ```python
    val_dataloader = dict(dataset=dict(data_root='data/cats/', ann_file='annotations/val.json'))
    val_evaluator = dict(type='CocoMetric', ann_file='data/cats/annotations/val.json')
    ```
    """
    sm = ctx.source_map
    seen = set()
    for v in _mismatches(ctx.cfg, sm, {(c.key_path, k) for c in ctx.type_changes for k in c.kept}, ctx.base_dir):
        leaf = v.key_path.rsplit(".", 1)[-1]
        written = (sm.locate(v.key_path), leaf, str(v.evidence))
        if written in seen:  # test_evaluator = val_evaluator over test_dataloader = val_dataloader: once
            continue
        seen.add(written)
        yield v


def _mismatches(cfg, sm, kept, base_dir=None):
    for ev_key, dl_key in PAIRS:
        dl = cfg.get(dl_key, None)
        datasets = list(datasets_under(dl.get("dataset", None), f"{dl_key}.dataset")) if is_mapping(dl) else []
        for path, metric in _metrics(cfg.get(ev_key, None), ev_key):
            kind = node_type(metric)
            if metric.get("format_only", False) is True and not metric.get("outfile_prefix", None):
                yield Violation(
                    message=(f"{path} ({kind}) has format_only=True but no outfile_prefix: the metric asserts "
                             f"outfile_prefix is set when it is built"),
                    key_path=f"{path}.format_only", evidence={"metric": kind},
                    fix="set outfile_prefix='./work_dirs/results/...'")
            ann = metric.get("ann_file", None)
            unlabelled = [(p, why) for p, why in ((p, _unlabelled(annotation_file(d) or "", base_dir)) for p, d in datasets)
                          if why]
            if isinstance(ann, str) and ann and _unlabelled(ann, base_dir) and not unlabelled:
                unlabelled = [(f"{path}.ann_file", _unlabelled(ann, base_dir))]
            if unlabelled and metric.get("format_only", False) is not True and kind != "DumpResults":
                where_, why = unlabelled[0]
                yield Violation(
                    message=(f"{path} ({kind}) computes metrics on {where_}, but {why}: every metric comes out "
                             f"as -1 (or the metric fails) and no result file is written for submission"),
                    key_path=f"{path}.format_only", evidence={"metric": kind, "unlabelled": why},
                    fix=f"set {path}.format_only=True and outfile_prefix='./work_dirs/test_results' (the files to "
                        "submit), or point the loader at a split with annotations")
                continue
            if not isinstance(ann, str) or not ann or (path, "ann_file") in kept or len(datasets) != 1:
                continue
            ds_path, ds = datasets[0]
            ds_type = node_type(ds)
            if _is_voc(ds_type) and "VOC" not in kind:
                yield Violation(
                    message=(f"{path} is a {kind} with ann_file {ann!r}, but {ds_path} is a {ds_type}: the "
                             f"metric scores against that COCO file, not the VOC annotations the loader reads"),
                    key_path=f"{path}.ann_file", evidence={"metric": kind, "dataset": ds_type, "ann_file": ann},
                    fix="use VOCMetric(metric='mAP') for a VOC dataset, or a CocoDataset with its COCO json")
                continue
            if ("Panoptic" in ds_type) != ("Panoptic" in kind):
                continue  # instance metrics of a panoptic model read the instance file of the same images
            expected = annotation_file(ds)
            if expected is None or posixpath.normpath(ann) == expected:
                continue
            yield Violation(
                message=(f"{path}.ann_file is {ann!r} ({where(sm.locate(f'{path}.ann_file'))}) but {ds_path} reads "
                         f"{expected!r} (data_root + ann_file, {where(sm.locate(f'{ds_path}.ann_file'))}): "
                         f"the {short_type(kind)} scores predictions on these images against other annotations"),
                key_path=f"{path}.ann_file", evidence={"evaluator_ann_file": ann, "dataset_ann_file": expected},
                fix=f"set {path}.ann_file={expected!r}")

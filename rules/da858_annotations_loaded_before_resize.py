from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type
from detaudit.rule.merge import where

# evaluators that read the ground truth from the packed data samples, after the pipeline
# (the others read the annotation file, or the dataset's raw ``instances``, untouched by it)
SAMPLE_GT = {"VOCMetric": "gt_instances.bboxes", "Flickr30kMetric": "gt_instances.bboxes",
             "RefSegMetric": "gt_masks", "SemSegMetric": "gt_sem_seg"}
# transforms that move, scale or cut the annotations they find in the results
GEOMETRIC = frozenset({"Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize", "FixScaleResize",
                       "ResizeShortestEdge", "RandomFlip", "RandomCrop", "MinIoURandomCrop", "RandomCenterCropPad",
                       "RandomAffine", "RandomShift", "Expand", "Rotate", "ShearX", "ShearY", "TranslateX",
                       "TranslateY", "Mosaic", "CachedMosaic", "SegRescale"})
LOADS = frozenset({"LoadAnnotations", "LoadPanopticAnnotations"})


def _evaluators(cfg, loader: str) -> list[str]:
    node = cfg.get(loader.replace("_dataloader", "_evaluator"), None)
    items = node if isinstance(node, (list, tuple)) else [node]
    return [node_type(e) for e in items if is_mapping(e) and node_type(e) in SAMPLE_GT]


def _moves(t) -> bool:
    kind = node_type(t)
    if kind not in GEOMETRIC:
        return False
    prob = t.get("prob", None)
    if kind == "RandomFlip":  # mmcv's default prob is None: no flip
        return (isinstance(prob, (int, float)) and prob > 0) or (isinstance(prob, (list, tuple)) and sum(prob) > 0)
    return not (isinstance(prob, (int, float)) and prob == 0)


@rule(code="DA858", name="annotations-loaded-before-resize", severity="warning", tier="static",
      needs=("source_map",))
def annotations_loaded_before_resize(ctx):
    """An evaluation pipeline loads the annotations before a resize, and its metric reads them from the samples.

    ## What it does
    For every dataset behind ``val_dataloader`` and ``test_dataloader`` whose evaluator reads
    the ground truth from the packed data samples (``VOCMetric`` and ``Flickr30kMetric`` read
    ``gt_instances``, ``RefSegMetric`` ``gt_masks``, ``SemSegMetric`` ``gt_sem_seg``), finds a
    ``LoadAnnotations`` step followed, in the top-level steps of the pipeline, by a step that
    moves or rescales annotations (``Resize``, ``RandomResize``, ``FixShapeResize``, a
    ``RandomFlip`` with ``prob`` > 0, crops, ``RandomAffine``, ``Expand``...), and reports the
    ``LoadAnnotations`` step. ``Pad`` is not counted: it adds pixels below and to the right and
    leaves every box where it was. ``CocoMetric``, ``LVISMetric`` and the others read the
    annotation file (or the dataset's raw ``instances``) and are not affected.

    ## Why is this bad?
    A resize after ``LoadAnnotations`` rescales the ground-truth boxes with the image. The
    detector's predictions are mapped back to the original image (``rescale=True``), but the
    metric compares them with the ground truth of the resized image: the two sets of boxes are
    in different frames and the mAP collapses, with no error. MMDetection's own test pipelines
    load the annotations after the resize for this reason.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='LoadAnnotations', with_bbox=True),
                     dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                     dict(type='PackDetInputs')]
    val_evaluator = dict(type='VOCMetric', metric='mAP')
    ```

    ## Use instead
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                     dict(type='LoadAnnotations', with_bbox=True),   # the ground truth keeps the original frame
                     dict(type='PackDetInputs')]
    ```
    """
    sm, seen = ctx.source_map, set()
    for loader, path, _, pipeline in dataloader_pipelines(ctx.cfg, ("val_dataloader", "test_dataloader")):
        metrics = _evaluators(ctx.cfg, loader)
        if not metrics:
            continue
        load = next((i for i, t in enumerate(pipeline) if node_type(t) in LOADS), None)
        if load is None:
            continue
        moved = [(i, node_type(t)) for i, t in enumerate(pipeline) if i > load and is_mapping(t) and _moves(t)]
        if not moved:
            continue
        key = f"{path}.{load}"
        written = where(sm.locate(key))
        if written in seen:  # test_dataloader = val_dataloader: once
            continue
        seen.add(written)
        steps = ", ".join(f"step {i} {kind}" for i, kind in moved)
        metric = metrics[0]
        yield Violation(
            message=(f"{path} runs LoadAnnotations (step {load}, {written}) before {steps}: the ground truth is "
                     f"transformed with the image, but {metric} reads it from the data samples "
                     f"({SAMPLE_GT[metric]}) and compares it with predictions mapped back to the original "
                     f"image, so the boxes are in different frames and the metric collapses"),
            key_path=key,
            evidence={"load_step": load, "metric": metric, "steps": [{"index": i, "type": k} for i, k in moved]},
            fix=f"move LoadAnnotations after {moved[-1][1]} (right before the packing step), as mmdet's test "
                f"pipelines do")

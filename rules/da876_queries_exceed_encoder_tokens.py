import math

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type

TWO_STAGE_DETRS = ("DINO", "DDQDETR")  # always pick their queries from the encoder's tokens


def _pairs(value):
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return [tuple(value)]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        return [p for v in value for p in _pairs(v)]
    return []


def _largest_after_resize(step) -> tuple[float, float] | None:
    """(long, short) side bound of the image a resizing step leaves, the largest it can leave, or None."""
    kind = node_type(step) or ""
    if kind == "Resize":
        scales = _pairs(step.get("scale", None))
    elif kind == "RandomChoiceResize":
        scales = _pairs(step.get("scales", None))
    elif kind == "RandomResize":
        scales = _pairs(step.get("scale", None))
        ratio = step.get("ratio_range", None)
        if isinstance(ratio, (list, tuple)) and len(ratio) == 2 and all(isinstance(r, (int, float)) for r in ratio):
            scales = [(w * max(ratio), h * max(ratio)) for w, h in scales[:1]]
    else:
        return None
    if not scales:
        return None
    w, h = max(scales, key=lambda s: s[0] * s[1])
    return max(w, h), min(w, h)


def tokens(long: float, short: float, strides: list[int]) -> int:
    return sum(math.ceil(long / s) * math.ceil(short / s) for s in strides)


@rule(code="DA876", name="queries-exceed-encoder-tokens", severity="error", tier="static", needs=())
def queries_exceed_encoder_tokens(ctx):
    """A two-stage DETR asks for more queries than the encoder has tokens at the configured image size.

    ## What it does
    For a DETR that selects its queries from the encoder's output (``DINO``, ``DDQDETR``, a
    ``DeformableDETR`` with ``as_two_stage=True``), bounds the number of encoder tokens of the
    largest image each pipeline's last resize can leave (the sum over the feature levels of
    ``ceil(side / stride)`` products; strides from the backbone's first output and the neck's
    ``num_outs``) and reports ``num_queries`` when it is larger.

    ## Why is this bad?
    The top-k selection of the queries needs at least ``num_queries`` tokens: with small images
    (a low-resolution dataset, a resize copied from a mobile recipe) or a query count raised for
    hybrid matching, every forward fails with ``RuntimeError: selected index k out of range``,
    after the model, the data and the weights were loaded.

    ## Example
    ```python
    _base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
    model = dict(num_queries=1800)
    train_pipeline = [..., dict(type='Resize', scale=(320, 240), keep_ratio=True), ...]  # 1600 tokens
    ```

    ## Use instead
    ```python
    model = dict(num_queries=900)   # or larger images
    ```
    """
    model = ctx.cfg.get("model", None)
    if not is_mapping(model):
        return
    kind = node_type(model) or ""
    if kind not in TWO_STAGE_DETRS and model.get("as_two_stage", False) is not True:
        return
    queries = model.get("num_queries", None)
    if not isinstance(queries, int) or isinstance(queries, bool):
        return
    backbone, neck = model.get("backbone", None), model.get("neck", None)
    indices = backbone.get("out_indices", None) if is_mapping(backbone) else None
    first = min(indices) if isinstance(indices, (list, tuple)) and indices and \
        all(isinstance(i, int) for i in indices) else None
    levels = neck.get("num_outs", None) if is_mapping(neck) else None
    if first is None or not isinstance(levels, int) or levels <= 0:
        return
    strides = [2 ** (first + 2) * 2 ** k for k in range(levels)]
    seen = set()
    for _loader, key, _ds, pipeline in dataloader_pipelines(ctx.cfg):
        resizes = [(i, _largest_after_resize(s)) for i, s in enumerate(pipeline) if is_mapping(s)]
        resizes = [(i, b) for i, b in resizes if b is not None]
        if not resizes:
            continue
        i, (long, short) = resizes[-1]
        have = tokens(long, short, strides)
        if have >= queries or (long, short) in seen:
            continue
        seen.add((long, short))
        yield Violation(
            message=(f"model.num_queries={queries}, but an image left by {key}.{i} ({node_type(pipeline[i])}, at most "
                     f"{long:g}x{short:g}) gives at most {have} encoder tokens over {levels} levels (strides "
                     f"{strides[0]} to {strides[-1]}): selecting {queries} queries from them fails "
                     "('selected index k out of range')"),
            key_path="model.num_queries",
            evidence={"num_queries": queries, "tokens_at_most": have, "image_at_most": [long, short],
                      "strides": strides, "resize": f"{key}.{i}"},
            fix=f"lower model.num_queries to at most {have}, or resize the images larger")

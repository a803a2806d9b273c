from detaudit.rule import Violation, rule
from detaudit.rule.config import module_key

GENERATOR_KEYS = ("anchor_generator", "prior_generator", "point_generator")


def _fits(size: int, side: int, stride: float) -> bool:
    """Whether a map of ``size`` cells can be a ``side``-pixel input seen at ``stride``: convolutions
    with padding round ``side / stride`` up or down."""
    exact = side / stride
    return int(exact) <= size <= -int(-exact // 1)


def _num(v: float) -> str:
    return f"{v:.3g}"


def _strides_key(ctx, module: str, generator: str) -> str:
    base = module_key(ctx, module)
    head, _, rest = module.partition(".")
    if base == "model" and head == "bbox_head" and ctx.config_value("model.rpn_head", None) is not None:
        base = "model.rpn_head" + (f".{rest}" if rest else "")  # the RPN detector builds rpn_head as bbox_head
    for k in (generator, *GENERATOR_KEYS):
        if ctx.config_value(f"{base}.{k}", None) is not None:
            return f"{base}.{k}.strides"
    return f"{base}.strides"


def _shown(strides) -> str:
    return "[" + ", ".join(_num(w) if w == h else f"({_num(w)}, {_num(h)})" for w, h in strides) + "]"


@rule(code="DA847", name="prior-strides-mismatch-features", severity="error", tier="forward",
      needs=("feature_sizes",))
def prior_strides_mismatch_features(ctx):
    """A head lays its priors at strides other than those of the feature maps it receives.

    ## What it does
    In the synthetic loss pass, records the size of the batch the backbone receives (padding
    included) and the size of each feature map the ``forward`` of every head with a prior
    generator receives (anchor heads, point heads, the RPN, the square anchors of guided
    anchoring and SABL). A level's real stride is the input size over the map's size; the rule
    compares it with the stride the head's prior generator holds, level by level, allowing the
    rounding of padded convolutions (a stride ``s`` maps ``H`` pixels to ``floor(H / s)`` or
    ``ceil(H / s)`` cells), and reports a head whose strides do not fit, or whose count differs
    from the number of maps it receives, at the key of its strides with both lists. It reads
    what the built model does, so it also covers necks and backbones DA846 cannot reason about
    statically (custom necks, changed stage strides). On 31 zoo configs of 29 detector families
    (anchor, point, YOLO, SSD, cascade RPN, guided anchoring, C4) it finds nothing.

    ## Why is this bad?
    mmdet places each level's priors ``stride`` pixels apart on that level's grid and never
    checks the stride against the map. Priors at half the real stride cover only the top-left
    quarter of the image: objects elsewhere match no prior and the detector never learns
    them, with no error. With more strides than maps the loss fails inside the prior
    generator with an assertion that names no key.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(neck=dict(start_level=1, add_extra_convs='on_input'))  # levels now at 8..128
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(neck=dict(start_level=1, add_extra_convs='on_input'),
                 rpn_head=dict(anchor_generator=dict(strides=[8, 16, 32, 64, 128])),
                 roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8, 16, 32, 64])))
    ```
    """
    seen = ctx.feature_sizes
    height, width = seen.input
    for module, head in sorted(seen.heads.items()):
        key = _strides_key(ctx, module, head.generator)
        real = [(width / w, height / h) for h, w in head.sizes]
        maps = ", ".join(f"{h}x{w}" for h, w in head.sizes)
        evidence = {"declared": [list(s) for s in head.strides], "feature_sizes": [list(s) for s in head.sizes],
                    "input_size": [height, width], "measured": [[round(w, 2), round(h, 2)] for w, h in real]}
        if len(head.strides) != len(head.sizes):
            yield Violation(
                message=(f"{key} = {_shown(head.strides)} names {len(head.strides)} feature levels but {module} "
                         f"receives {len(head.sizes)} feature maps ({maps} for a {height}x{width} input, strides "
                         f"{_shown(real)}): the prior generator asserts one map per stride"),
                key_path=key, module_path=module, evidence=evidence,
                fix=f"give {key} one stride per feature map the neck outputs")
            continue
        bad = [i for i, ((sw, sh), (h, w)) in enumerate(zip(head.strides, head.sizes))
               if not (_fits(h, height, sh) and _fits(w, width, sw))]
        if bad:
            i = bad[0]
            yield Violation(
                message=(f"{key} = {_shown(head.strides)} but the feature maps {module} receives for a "
                         f"{height}x{width} input are {maps}, strides {_shown(real)}: level {i}'s priors are "
                         f"laid {_num(head.strides[i][1])} px apart on a map whose cells are {_num(real[i][1])} px "
                         "apart, so they cover another part of the image than the map"),
                key_path=key, module_path=module, evidence={**evidence, "first_level": i},
                fix=f"set {key} to the measured strides")

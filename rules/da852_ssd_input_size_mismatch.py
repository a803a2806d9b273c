from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, find_typed, is_mapping, type_name

# steps whose output size is not known from the config alone (random scales, crops, canvases, borders)
RESIZING = ("Resize", "Crop", "Pad", "Mosaic", "MixUp", "Affine", "Expand", "CopyPaste", "CutOut")


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _pair(v):
    """(w, h) of an int or a (w, h) scale, else None."""
    if _int(v) is not None:
        return v, v
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_int(x) is not None for x in v):
        return tuple(v)
    return None


def _fixed_size(pipeline, path: str):
    """((w, h), key path of the value that sets it) of the images a pipeline emits when its last
    resizing step gives them one fixed size (``Resize`` with ``keep_ratio=False``,
    ``FixShapeResize``, ``Pad`` to a ``size``), else None."""
    out = None
    for i, t in enumerate(pipeline):
        if not is_mapping(t):
            out = None
            continue
        kind, at = type_name(t.get("type", None)) or "", f"{path}.{i}"
        if kind == "Resize" and not t.get("keep_ratio", False) and t.get("scale_factor", None) is None:
            size = _pair(t.get("scale", None))
            out = (size, f"{at}.scale", kind) if size else None
        elif kind == "FixShapeResize":
            size = _pair((t.get("width", None), t.get("height", None)))
            out = (size, f"{at}.width", kind) if size else None
        elif kind == "Pad" and t.get("size", None) is not None:
            size = _pair(t.get("size", None))
            out = (size, f"{at}.size", kind) if size else None
        elif kind == "Pad" and out is not None and not t.get("pad_to_square", False):
            div = _int(t.get("size_divisor", None))
            out = out if div and all(s % div == 0 for s in out[0]) else None
        elif any(word in kind for word in RESIZING) or any(
                isinstance(v, (list, tuple)) and any(is_mapping(x) for x in v) for v in t.values()):
            out = None  # a random or unknown size, or nested steps this reading does not follow
    return out


def _anchor_sizes(cfg):
    """(key path, input size, what says it) of every SSD anchor generator: its ``input_size``, or,
    with explicit prior sizes (``input_size`` is then not read), its largest stride, the side of the
    image whose last feature map is one pixel (300 for SSD300, 512 for SSD512, 320 for SSDLite)."""
    for path, gen in find_typed(cfg.get("model", None), "SSDAnchorGenerator", "model"):
        if gen.get("min_sizes", None) is not None or gen.get("max_sizes", None) is not None:
            strides = gen.get("strides", None)
            flat = [s for st in strides for s in (st if isinstance(st, (list, tuple)) else [st])] \
                if isinstance(strides, (list, tuple)) else []
            if flat and all(_int(s) is not None for s in flat):
                yield path, max(flat), f"{path}.strides ends at {max(flat)} (its prior sizes are explicit)"
            continue
        size = gen.get("input_size", 300)
        if _int(size) is not None:
            yield path, size, f"{path}.input_size = {size}"


@rule(code="DA852", name="ssd-input-size-mismatch", severity="warning", tier="static", needs=())
def ssd_input_size_mismatch(ctx):
    """The training pipeline resizes images to another fixed size than the SSD anchor generator's ``input_size``.

    ## What it does
    Reads every ``SSDAnchorGenerator`` of the model that derives its prior sizes from
    ``input_size`` (300 unless set), or, with explicit ``min_sizes``/``max_sizes`` (which leave
    ``input_size`` unread), its largest stride: the side of the image whose last map is one pixel
    and the fixed size the training pipeline emits (through dataset wrappers such as
    ``RepeatDataset``): its last resizing step being a ``Resize`` with ``keep_ratio=False``, a
    ``FixShapeResize`` or a ``Pad`` to a ``size``. It reports the resize step's size when it is
    not ``input_size`` x ``input_size``. The zoo's SSD300, SSD512 and SSDLite configs resize to
    their anchor generator's size.

    ## Why is this bad?
    SSD's priors are laid for one square input: their sizes are fractions of ``input_size`` and
    the strides of the last levels (100 and 300 for SSD300) are those of a 300-pixel image. On a
    640x480 image the feature maps are larger, the priors keep the 300-pixel sizes and strides,
    their centres run far outside the image and the object scales they cover are those of
    another input. Training and testing run without an error, with worse boxes.

    ## Example
    ```python
    _base_ = 'mmdet::ssd/ssd300_coco.py'
    train_pipeline = [..., dict(type='Resize', scale=(640, 480), keep_ratio=False), ...]
    train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::ssd/ssd512_coco.py'  # or keep SSD300 and resize to (300, 300)
    train_pipeline = [..., dict(type='Resize', scale=(512, 512), keep_ratio=False), ...]
    train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
    ```
    """
    cfg = ctx.cfg
    generators = list(_anchor_sizes(cfg))
    if not generators:
        return
    seen = set()
    for _, path, _, pipeline in dataloader_pipelines(cfg, ("train_dataloader",)):
        fixed = _fixed_size(pipeline, path)
        if fixed is None:
            continue
        (w, h), key, kind = fixed
        for gen_path, size, said in generators:
            if (w, h) == (size, size) or (key, gen_path) in seen:
                continue
            seen.add((key, gen_path))
            yield Violation(
                message=(f"{key} ({kind}) trains on {w}x{h} images, but {said}: the SSD "
                         f"priors' sizes and the strides of its last levels are laid for a {size}x{size} input, "
                         f"so on {w}x{h} images they sit at the wrong places and scales"),
                key_path=key,
                evidence={"train_size": [w, h], "input_size": size, "anchor_generator": gen_path,
                          "resize_type": kind},
                fix=(f"resize to ({size}, {size}) for training (and testing), or give {gen_path} prior sizes "
                     f"(min_sizes, max_sizes) and strides laid for {w}x{h} images"))

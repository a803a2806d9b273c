from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type, transforms_in

MIXES = ("MixUp", "CachedMixUp")  # each mirrors the image it mixes in, by its own flip_ratio (default 0.5)
ALBU_FLIPS = ("HorizontalFlip", "VerticalFlip", "Flip", "Transpose")  # albumentations, p defaults to 0.5
# albumentations rotations: the argument bounding the angle and its default (None: no rotation)
ALBU_ROTATIONS = {"ShiftScaleRotate": ("rotate_limit", 45), "Rotate": ("limit", 90), "SafeRotate": ("limit", 90),
                  "RandomRotate90": (None, 90), "Affine": ("rotate", None)}
# RandomAffine's own switch -> the mmdet transforms (geometric.py, prob 1.0 and max_mag 30 by default) doing the same
AFFINE_PARTS = {"max_rotate_degree": ("rotation", ("Rotate",)), "max_shear_degree": ("shearing", ("ShearX", "ShearY"))}


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _off(value) -> bool:
    return (_num(value) and value == 0) or (isinstance(value, (list, tuple)) and value
                                            and all(_num(v) for v in value) and sum(value) == 0)


def _chains(cfg):
    """(pipelines a sample of one dataset passes through: its own and its wrappers') for each dataset
    behind ``train_dataloader``."""
    found = list(dataloader_pipelines(cfg, ("train_dataloader",)))
    for _, path, _, _ in found:
        dataset = path[: -len(".pipeline")]
        yield [(p, pipe) for _, p, _, pipe in found if dataset == p[: -len(".pipeline")]
               or dataset.startswith(p[: -len(".pipeline")] + ".")]


def _albu_inner(nested) -> set:
    """Key paths of the albumentations transforms an ``Albu`` step holds (their names, such as
    ``Rotate``, may also be mmdet's)."""
    return {f"{key}.transforms.{i}" for key, t in nested if node_type(t) == "Albu"
            and isinstance(t.get("transforms", None), (list, tuple)) for i in range(len(t["transforms"]))}


def _flips(t, albu: bool) -> str | None:
    """How a transform still mirrors images (None when it does not)."""
    kind = node_type(t)
    if kind in MIXES and not albu:
        ratio = t.get("flip_ratio", 0.5)
        prob = t.get("prob", 1.0) if kind == "CachedMixUp" else 1.0
        if not (_num(ratio) and _num(prob)) or ratio >= 1 or prob <= 0:
            return None
        given = "" if "flip_ratio" in t else " (its default)"
        share = f"{(1 - max(ratio, 0)) * prob:.0%}"
        return (f"keeps flip_ratio={ratio:g}{given}: it mirrors the image it mixes in whenever a uniform draw "
                f"exceeds flip_ratio, in about {share} of the samples")
    if kind in ALBU_FLIPS and albu:
        p = t.get("p", 0.5)
        return f"flips with p={p:g}" if _num(p) and p > 0 else None
    return None


def _rotates(t, names: tuple, albu: bool) -> str | None:
    kind = node_type(t)
    if kind in names and not albu:
        prob, top = t.get("prob", 1.0), t.get("max_mag", 30.0)
        if _num(prob) and prob > 0 and not (_num(top) and top == 0 and t.get("min_mag", 0.0) == 0):
            return f"applies it with prob={prob:g}"
    if "Rotate" in names and kind in ALBU_ROTATIONS and albu:
        p, (arg, default) = t.get("p", 0.5), ALBU_ROTATIONS[kind]
        limit = t.get(arg, default) if arg else default
        if _num(p) and p > 0 and limit is not None and not _off(limit):
            return f"rotates with p={p:g}"
    return None


@rule(code="DA861", name="switched-off-augmentation-still-applied", severity="warning", tier="static", needs=())
def switched_off_augmentation_still_applied(ctx):
    """A training pipeline switches an augmentation off in one transform while another still applies it.

    ## What it does
    In the pipelines a training sample passes through (its dataset's and its wrappers'), finds
    an augmentation switched off in one top-level step and still applied by another step:

    - flipping: ``RandomFlip(prob=0)``, while ``MixUp``/``CachedMixUp`` keep a ``flip_ratio``
      below 1 (the default is 0.5) or an ``Albu`` step holds ``HorizontalFlip``/``VerticalFlip``;
    - rotation and shearing: ``RandomAffine(max_rotate_degree=0)`` (``max_shear_degree=0``),
      while a ``Rotate`` (``ShearX``/``ShearY``) step, in the pipeline or in the policies of
      ``AutoAugment``/``RandAugment``, or an ``Albu`` rotation still turns the image.

    Reported at the step that still applies it.

    ## Why is this bad?
    Switching an augmentation off is a decision about the data: left/right-sensitive classes
    must not be mirrored, text or gauges must stay upright. Each transform has its own switch,
    and the mixing transforms flip the image they mix in on their own: ``CachedMixUp`` flips
    whenever ``random.uniform(0, 1) > flip_ratio``, so with its default 0.5 half of the mixes
    still carry mirrored objects, and only ``flip_ratio=1.0`` stops it (``0`` flips every
    time). Training then sees exactly what the config meant to exclude, without a message.

    ## Example
    ```python
    train_pipeline = [..., dict(type='RandomFlip', prob=0.0), ...,
                      dict(type='CachedMixUp', img_scale=(640, 640), max_cached_images=20), ...]
    ```

    ## Use instead
    ```python
    train_pipeline = [..., dict(type='RandomFlip', prob=0.0), ...,
                      dict(type='CachedMixUp', img_scale=(640, 640), max_cached_images=20,
                           flip_ratio=1.0),   # mmdet flips when a uniform draw exceeds flip_ratio
                      ...]
    ```
    """
    seen = set()
    for chain in _chains(ctx.cfg):
        top = [(f"{p}.{i}", t) for p, pipe in chain for i, t in enumerate(pipe) if is_mapping(t)]
        nested = [(k, t) for p, pipe in chain for k, t in transforms_in(pipe, p)]
        albu = _albu_inner(nested)
        offs = []  # (what, the switch's key, how it is switched off, the check of a step still doing it)
        for key, t in top:
            kind = node_type(t)
            if kind == "RandomFlip" and _off(t.get("prob", None)):
                offs.append(("flipping", key, f"RandomFlip prob={t.get('prob')}", _flips))
            if kind == "RandomAffine":
                for arg, (what, names) in AFFINE_PARTS.items():
                    if _off(t.get(arg, None)):
                        offs.append((what, key, f"RandomAffine {arg}={t.get(arg)}",
                                     lambda s, albu, names=names: _rotates(s, names, albu)))
        for what, switch, how, still in offs:
            for key, t in nested:
                if key == switch or key in seen:
                    continue
                found = still(t, key in albu)
                if not found:
                    continue
                seen.add(key)
                kind = node_type(t)
                at = f"{key}.flip_ratio" if kind in MIXES else key
                yield Violation(
                    message=(f"{switch} switches {what} off ({how}), but {key} ({kind}) {found}: the "
                             f"augmentation the pipeline switched off still reaches training"),
                    key_path=at, evidence={"switch": switch, "augmentation": what, "step": key, "type": kind},
                    fix=(f"set flip_ratio=1.0 on {kind} (it flips when a uniform draw exceeds flip_ratio)"
                         if kind in MIXES else f"switch {what} off in {kind} too, or remove it"))

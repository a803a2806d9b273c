from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, transforms_in, type_name

RESIZES = ("Resize", "RandomResize", "RandomChoiceResize", "FixShapeResize")
# Test images this many times larger than the largest training image: on the zoo's 700 configs
# whose train and test pipelines both resize, the test scale's long side is at most 1.04 times
# the training's largest (RTMDet tests at a quarter of its largest training scale).
LARGEST_TEST_RATIO = 1.5
DEFAULT_RESAMPLING = ("cv2", "bilinear")


def _long_sides(value) -> list[float]:
    """The long side of each (w, h) or int scale in ``value`` (a scale, or a list of them)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [float(max(value))]
        return [s for v in value for s in _long_sides(v)]
    return []


def _resizes(cfg, loader: str):
    """(key path, type, long sides, (backend, interpolation)) of each resize step of the loader."""
    for _, pipe_path, _, pipeline in dataloader_pipelines(cfg, (loader,)):
        for path, t in transforms_in(pipeline, pipe_path):
            kind = type_name(t.get("type", None)) or ""
            if kind not in RESIZES:
                continue
            if kind == "RandomChoiceResize":
                sides = _long_sides(t.get("scales", None))
            elif kind == "FixShapeResize":
                sides = _long_sides((t.get("width", None), t.get("height", None)))
            else:
                sides = _long_sides(t.get("scale", None))
                ratio = t.get("ratio_range", None)
                if kind == "RandomResize" and sides and isinstance(ratio, (list, tuple)) and len(ratio) == 2:
                    sides = [sides[0] * r for r in ratio if isinstance(r, (int, float))]
            yield path, kind, sides, (t.get("backend", DEFAULT_RESAMPLING[0]),
                                      t.get("interpolation", DEFAULT_RESAMPLING[1]))


def _shown(resampling) -> str:
    return ", ".join(f"{backend}/{interpolation}" for backend, interpolation in sorted(resampling, key=str))


@rule(code="DA833", name="train-test-resize-disagree", severity="warning", tier="static", needs=())
def train_test_resize_disagree(ctx):
    """The test pipeline resizes images unlike the training pipeline: far larger, or resampled otherwise.

    ## What it does
    Reads the resize steps (``Resize``, ``RandomResize``, ``RandomChoiceResize``,
    ``FixShapeResize``, nested test-time augmentation included) of the training and the test
    (else validation) pipelines and reports:

    - a test scale whose long side is more than 1.5 times the largest the training produces
      (``ratio_range`` applied); on the zoo the test scale is at most 1.04 times it;
    - training and test resizing with no resampling in common (``backend``/``interpolation``:
      Pillow's Lanczos for training, the default cv2 bilinear for testing); no zoo config does.

    ## Why is this bad?
    A detector learns objects at the sizes training shows it; tested at four times the
    scale, every object is four times larger than anything it saw, and boxes and scores
    degrade with no error. Images resampled by another library and kernel differ in
    sharpness and aliasing from the ones the weights were trained on; the evaluation
    measures that difference, not the model.

    ## Example
    ```python
    train_pipeline = [..., dict(type='Resize', scale=(512, 512), keep_ratio=True), ...]
    test_pipeline = [..., dict(type='Resize', scale=(2000, 2000), keep_ratio=True), ...]
    ```

    ## Use instead
    ```python
    test_pipeline = [..., dict(type='Resize', scale=(512, 512), keep_ratio=True), ...]
    ```
    """
    cfg = ctx.cfg
    train = list(_resizes(cfg, "train_dataloader"))
    test_loader = "test_dataloader" if cfg.get("test_dataloader", None) is not None else "val_dataloader"
    test = list(_resizes(cfg, test_loader))
    if not train or not test:
        return
    train_long = [s for _, _, sides, _ in train for s in sides]
    test_steps = [(p, k, max(sides)) for p, k, sides, _ in test if sides]
    if train_long and test_steps:
        path, kind, longest = max(test_steps, key=lambda t: t[2])
        if longest > LARGEST_TEST_RATIO * max(train_long):
            yield Violation(
                message=(f"{path} ({kind}) tests at a long side of {longest:g} px, {longest / max(train_long):.1f} "
                         f"times the largest training produces ({max(train_long):g} px): objects are that much "
                         "larger than any the detector saw in training"),
                key_path=f"{path}.scale" if kind in ("Resize", "RandomResize") else path,
                evidence={"test_long_side": longest, "train_long_sides": sorted(set(train_long))[:8],
                          "ratio": round(longest / max(train_long), 2), "zoo_largest_ratio": 1.04},
                fix="test at the scale the detector was trained at (or train at the scale it is tested at)")
    train_resampling = {r for *_, r in train}
    test_resampling = {r for *_, r in test}
    if not train_resampling & test_resampling:
        path = test[0][0]
        yield Violation(
            message=(f"training resizes with {_shown(train_resampling)} ({train[0][0]}) but {test_loader}'s "
                     f"pipeline with {_shown(test_resampling)} ({path}): evaluation sees images resampled "
                     "otherwise than the ones the weights were trained on"),
            key_path=path, evidence={"train": sorted(map(list, train_resampling)),
                                     "test": sorted(map(list, test_resampling))},
            fix=f"give {path} the training's backend and interpolation")

from detaudit.rule import FactUnavailable
from detaudit.rule.config import config_pipelines, type_name
from detaudit.rule import Violation, rule, tier_rank

# What mmdet's predict paths read from each data sample's metainfo, beyond what the data
# preprocessor adds itself (batch_input_shape, pad_shape): the input size to clip boxes,
# and the original size and scale to map results back onto the original image.
PREDICT_META_KEYS = ("img_shape", "ori_shape", "scale_factor")


@rule(code="DA401", name="pipeline-meta-keys-missing", severity="error", tier="static",
      needs=("pipeline_probe", "pipeline_predict", "tta_probe", "tta_predict"))
def pipeline_meta_keys_missing(ctx):
    """The test/val pipeline does not pack metainfo that the model's predict needs.

    ## What it does
    Statically, reads the ``meta_keys`` of the ``Pack*Inputs`` step (``PackDetInputs`` and
    its subclasses) of every test and val pipeline and reports those that leave out
    ``img_shape``, ``ori_shape`` or ``scale_factor`` although an earlier step sets it (an
    image loader sets the shapes, a ``Resize`` the scale factor).

    When the forward tier runs, it also confirms: the config's own test pipeline is run on a
    synthetic image written to a temporary folder, and predict is called on exactly what it
    packs. That also catches keys no transform ever produces (a test pipeline without
    ``Resize`` has no ``scale_factor``), and shows the exception predict raises. A dropped key
    with which predict still runs is reported as a warning. A pipeline that cannot run on a
    synthetic sample (it needs masks or files the probe does not fabricate) leaves the static
    check alone.

    A config with a test-time augmentation pipeline (``tta_pipeline``, what ``tools/test.py --tta``
    tests with) gets the same probe on the first view it packs, when that view lacks a metainfo key
    the test pipeline packs: a failing predict is reported on ``tta_pipeline``, with the key the
    model read (CenterNet's ``border``, which only its test-mode crop-pad sets).

    ## Why is this bad?
    Training runs fine, and the first validation fails at the end of epoch one (``assert
    img_meta.get('scale_factor') is not None``), or boxes are silently left in the resized
    frame instead of the original image. A checking script that builds its own "complete"
    metainfo cannot see it: only the config's pipeline tells what predict will really get.

    ## Example
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1333, 800), keep_ratio=True),
                     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'img_shape'))]
    ```

    ## Use instead
    ```python
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1333, 800), keep_ratio=True),
                     dict(type='PackDetInputs',
                          meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
    ```
    """
    yield from _test_pipelines(ctx)
    yield from _tta_pipeline(ctx)


def _test_pipelines(ctx):
    pipelines = config_pipelines(ctx.cfg)
    if not pipelines:
        raise FactUnavailable("cfg", "the config has no test or val pipeline")
    static = []  # (key path of meta_keys, missing keys, pipeline key path)
    seen = set()
    for key_path, pipeline in pipelines:
        for i, step in enumerate(pipeline):
            if not isinstance(step, dict) or not _is_packer(step.get("type")):
                continue
            meta_keys = step.get("meta_keys", None)
            if meta_keys is None:
                continue  # the packer's defaults include every predict key
            produced = _produced(pipeline[:i])
            missing = [k for k in PREDICT_META_KEYS if k not in tuple(meta_keys) and k in produced]
            signature = (tuple(meta_keys), tuple(missing))
            if missing and signature not in seen:
                seen.add(signature)
                static.append((f"{key_path}.{i}.meta_keys", missing, key_path, _type_name(step.get("type"))))

    probe, outcome = _dynamic(ctx)
    probe_missing = []
    if probe is not None and probe.error is None:
        probe_missing = [k for k in PREDICT_META_KEYS if k not in probe.meta_keys]

    for meta_path, missing, pipeline_path, packer in static:
        confirmed = outcome is not None and probe.key_path == pipeline_path
        yield Violation(
            message=f"{packer}(meta_keys=...) in {pipeline_path} drops {', '.join(missing)}, which predict "
                    f"needs{_confirmation(outcome) if confirmed else ''}",
            key_path=meta_path, severity="warning" if confirmed and outcome.ok else None,
            evidence=_evidence(missing, probe, outcome if confirmed else None),
            fix=f"add {', '.join(repr(k) for k in missing)} to meta_keys (or drop meta_keys to use the defaults)",
        )
    if probe is None or not probe_missing or outcome is None or outcome.ok:
        return
    if any(p == probe.key_path and set(probe_missing) <= set(m) for _, m, p, _ in static):
        return  # explained above
    yield Violation(
        message=f"the test pipeline in {probe.key_path} never sets {', '.join(probe_missing)} (no transform "
                f"produces it), so the packed data sample lacks it{_confirmation(outcome)}",
        key_path=probe.key_path,
        evidence=_evidence(probe_missing, probe, outcome),
        fix="add the transform that sets it (a Resize, even to the same size, sets scale_factor) before packing",
    )


def _tta_pipeline(ctx):
    """Predict on the first view the test-time augmentation pipeline packs; its failure, with the
    metainfo key it read when the view lacks it (a TTA written with plain Resize steps where the
    test pipeline's crop-pad set ``border``)."""
    if tier_rank(ctx.max_tier) < tier_rank("forward"):
        return
    try:
        probe = ctx.tta_probe
        if probe.error is not None:
            return  # a view the synthetic sample cannot make leaves the TTA alone, as for the test pipeline
        test = ctx.pipeline_probe
        if test.error is None and test.meta_keys <= probe.meta_keys:
            return  # the view packs all the test pipeline packs: predict on it is not run (a second pass)
        outcome = ctx.tta_predict
    except FactUnavailable:
        return
    if outcome.ok:
        return
    missing = _missing_key(outcome.error, probe.meta_keys)
    where = f" in '{outcome.error.module}'" if outcome.error.module else ""
    said = (f": the model reads '{missing}' from each sample's metainfo and no step of tta_pipeline sets it"
            if missing else "")
    yield Violation(
        message=(f"predict on the first view tta_pipeline packs (what test-time augmentation, --tta, runs) raises "
                 f"{outcome.error.short()}{where}{said}"),
        key_path="tta_pipeline",
        evidence={"packed_meta_keys": sorted(probe.meta_keys), "predict": outcome.error.short(),
                  **({"missing": missing} if missing else {})},
        fix=(f"give every TTA branch the step that sets '{missing}' in the test pipeline" if missing else
             "make tta_pipeline's views what the test pipeline packs (run tools/test.py --tta on a few images)"))


def _missing_key(error, meta_keys) -> str | None:
    """The metainfo key a ``KeyError`` names when the packed sample does not have it."""
    if error.type != "KeyError":
        return None
    key = (error.message or "").strip().strip("'\"")
    return key if key and key not in meta_keys else None


def _dynamic(ctx):
    """The pipeline probe and, when it packs too little, the predict outcome on it; (None, None)
    when the forward tier is not requested or the model is unavailable (the static check stands)."""
    if tier_rank(ctx.max_tier) < tier_rank("forward"):
        return None, None
    try:
        probe = ctx.pipeline_probe
    except FactUnavailable:
        return None, None
    if probe.error is not None:
        return probe, None
    if all(k in probe.meta_keys for k in PREDICT_META_KEYS):
        return probe, None
    try:
        return probe, ctx.pipeline_predict
    except FactUnavailable:
        return probe, None


def _confirmation(outcome) -> str:
    if outcome is None:
        return ""
    if outcome.ok:
        return " (predict still ran on what the pipeline packs, but results cannot be mapped back to the " \
               "original image reliably)"
    where = f" in '{outcome.error.module}'" if outcome.error.module else ""
    return f"; confirmed: predict on what the test pipeline packs raises {outcome.error.short()}{where}"


def _evidence(missing, probe, outcome) -> dict:
    ev = {"missing": list(missing), "needed": list(PREDICT_META_KEYS)}
    if probe is not None:
        ev["pipeline"] = probe.key_path
        ev["packed_meta_keys"] = sorted(probe.meta_keys)
        if probe.error is not None:
            ev["pipeline_error"] = probe.error.short()
    if outcome is not None:
        ev["predict"] = "ok" if outcome.ok else outcome.error.short()
    return ev


def _produced(steps) -> set:
    """Predict keys the steps before the packer set, by transform type: loaders set the image
    shapes, resizes the scale factor. A key no step sets is not "dropped" by meta_keys; whether
    predict needs it is for the probe to show (CenterNet's test pipeline has no Resize and
    its predict does without scale_factor)."""
    names = [_type_name(t.get("type")) for t in steps if isinstance(t, dict)]
    out = {"img_shape", "ori_shape"} if any(n.startswith("Load") and "Image" in n for n in names) else set()
    if any("Resize" in n for n in names):
        out |= {"img_shape", "scale_factor"}
    return out


def _type_name(t) -> str:
    return type_name(t) or str(t)


def _is_packer(t) -> bool:
    name = _type_name(t)
    return name.startswith("Pack") and name.endswith("Inputs")

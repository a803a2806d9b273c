"""Running the config's own test pipeline on a synthetic image, and predict on what it packs.

The synthetic batch of :mod:`detaudit.facts.synthetic` carries complete metainfo on purpose (so that a
predict failure is the model's fault). This module answers the other question: what does
the config's *own* test pipeline put into a data sample, and does predict accept it? The
image is written into a private temporary folder (never next to the config) and removed
as soon as the pipeline has read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ErrorInfo
from ..rule.config import config_pipelines


@dataclass
class PipelineProbe:
    key_path: str                         # e.g. test_dataloader.dataset.pipeline
    image_size: tuple[int, int]           # (H, W) of the synthetic image fed to the pipeline
    meta: dict[str, Any] = field(default_factory=dict)  # metainfo of the packed data sample
    packed: Any = None                    # the pipeline's output, for the predict probe
    error: ErrorInfo | None = None        # the pipeline raised (the meta is then empty)

    @property
    def meta_keys(self) -> set[str]:
        return set(self.meta)


@dataclass
class PredictOutcome:
    ok: bool
    error: ErrorInfo | None = None


def run_pipeline(cfg, size: tuple[int, int], chosen: tuple[str, list] | None = None) -> PipelineProbe:
    """Feed one synthetic image (and one box) through the first test/val pipeline, or through
    ``chosen`` (key path, pipeline). A test-time augmentation pipeline (``TestTimeAug``) packs one
    sample per augmented view: the probe keeps the first view, as predict receives each."""
    import tempfile

    import numpy as np

    pipelines = [chosen] if chosen is not None else config_pipelines(cfg)
    if not pipelines:
        raise LookupError("the config has no test or val pipeline")
    key_path, pipeline = pipelines[0]
    H, W = size
    probe = PipelineProbe(key_path=key_path, image_size=(H, W))
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
    try:
        import mmcv
        from mmengine.dataset import Compose

        compose = Compose(pipeline)
        with tempfile.TemporaryDirectory(prefix="detaudit-pipeline-") as folder:
            path = f"{folder}/synthetic_0.png"
            mmcv.imwrite(image, path)
            results = dict(img_path=path, img_id=0, sample_idx=0, height=H, width=W, seg_map_path=None,
                           instances=[dict(bbox=[W * 0.25, H * 0.25, W * 0.75, H * 0.75], bbox_label=0,
                                           ignore_flag=0)])
            packed = compose(results)
        if packed is None:
            raise ValueError("the pipeline dropped the sample (a transform returned None)")
        if isinstance(packed, dict) and isinstance(packed.get("data_samples"), list) and packed["data_samples"]:
            packed = {k: v[0] for k, v in packed.items() if isinstance(v, list) and v}  # TestTimeAug's views
        sample = packed.get("data_samples") if isinstance(packed, dict) else None
        if sample is None or not hasattr(sample, "metainfo"):
            raise ValueError("the pipeline's output has no data sample with metainfo (no Pack*Inputs at the end?)")
        probe.meta = dict(sample.metainfo)
        probe.packed = packed
    except Exception as exc:  # noqa: BLE001 - arbitrary transforms
        probe.error = ErrorInfo.from_exception(exc)
    return probe


def predict_packed(model, packed, names: dict[int, str]) -> PredictOutcome:
    """Predict on exactly what the pipeline packed (through the model's data preprocessor)."""
    import torch

    from .forward import ModuleTracker, one_thread
    from .sandbox import no_network, quiet

    tracker = ModuleTracker(names)
    try:
        with quiet(), no_network(), one_thread(), tracker:
            data = {"inputs": [packed["inputs"]], "data_samples": [packed["data_samples"]]}
            model.eval()
            with torch.no_grad():
                data = model.data_preprocessor(data, False)
                model(**data, mode="predict")
    except Exception as exc:  # noqa: BLE001
        error = ErrorInfo.from_exception(exc, module=tracker.deepest)
        if not str(exc).strip():  # a bare assert: its source line is the message
            import traceback

            frames = traceback.extract_tb(exc.__traceback__)
            if frames and frames[-1].line:
                error.message = frames[-1].line.strip()
        return PredictOutcome(ok=False, error=error)
    finally:
        model.train()
    return PredictOutcome(ok=True)


def probe_fact(ctx, name: str) -> PipelineProbe:
    """The ``pipeline_probe`` fact (the first test/val pipeline) or the ``tta_probe`` fact (``tta_pipeline``)."""
    from ..errors import FactUnavailable
    from .sandbox import no_network, quiet

    chosen = None
    if name == "tta_probe":
        pipeline = ctx.cfg.get("tta_pipeline", None)
        if not isinstance(pipeline, (list, tuple)) or not pipeline:
            raise FactUnavailable(name, "the config has no tta_pipeline")
        chosen = ("tta_pipeline", list(pipeline))
    ctx.model  # the build registers mmdet's transforms and the custom imports
    try:
        with quiet(), no_network():
            return run_pipeline(ctx.cfg, ctx.input_size, chosen)
    except LookupError as exc:
        raise FactUnavailable(name, str(exc))


def predict_fact(ctx, probe: PipelineProbe, name: str) -> PredictOutcome:
    """Predict on what ``probe`` packed, unless its pipeline failed (then the fact is unavailable)."""
    from ..errors import FactUnavailable

    if probe.error is not None:
        raise FactUnavailable(name, f"{probe.key_path} failed: {probe.error.short()}")
    return predict_packed(ctx.model, probe.packed, ctx.module_names)

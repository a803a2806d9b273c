import re

from detaudit.rule import Violation, rule
from detaudit.rule.checkpoints import top_prefixes
from detaudit.rule.conventions import load_breaches
from detaudit.rule.pretrained_inputs import detector_word, pretrained_backbones, runner_checkpoint

from ._zoo_sources import zoo_sources

LEGACY_MAX_BYTES = 512 * 2 ** 20  # a file torch cannot map (the legacy format) is read whole only below this
MMDET_RELEASE = re.compile(r"download\.openmmlab\.com/mmdetection/")


@rule(code="DA856", name="whole-model-checkpoint-on-backbone", severity="warning", tier="static",
      needs=("pretrained_sources",))
def whole_model_checkpoint_on_backbone(ctx):
    """A backbone's ``Pretrained`` init loads a whole detector's checkpoint without ``prefix='backbone.'``.

    ## What it does
    Reads each backbone's ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and asks whether the
    file holds a whole model rather than a backbone. When the file is on this machine its tensor
    names decide (read with ``torch.load(weights_only=True)``, tensors memory-mapped, never
    executing pickled code): names under ``backbone.`` mean a whole model. Otherwise its name does:
    a checkpoint mmengine's ``CheckpointHook`` writes (``work_dirs/<cfg>/epoch_12.pth``,
    ``iter_N.pth``, ``best_*.pth``, ``latest.pth``), a file named as mmdet names its detectors
    (``mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth``: the algorithm words are learnt from
    the model zoo's config and weight names, ``rules/zoo_pretrained_sources.json``), or an
    mmdet release URL on a nested backbone. A ``prefix`` that matches none of a local file's
    tensor names is reported too. OpenMMLab release URLs on ``model.backbone`` are DA816's.

    ## Why is this bad?
    A detector checkpoint names its tensors ``backbone.conv1.weight``, ``neck.*``,
    ``roi_head.*``; the backbone's own names are ``conv1.weight``. mmengine loads a ``Pretrained``
    init non-strictly: every key is unexpected, every backbone weight missing, a warning is
    logged and the backbone keeps its random initialisation. Training runs, from scratch.

    ## Example
    ```python
    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth')))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth')))
    # or the whole model: load_from = 'work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth'
    ```
    """
    cfg = ctx.cfg
    model = cfg.get("model", None)
    if not hasattr(model, "get"):
        return
    load_from = cfg.get("load_from", None)
    local = {s.key_path: s.local for s in ctx.pretrained_sources if s.local and not s.remote}
    words = zoo_sources().get("detector_words", {})
    for bb_path, backbone, checkpoint, init, init_key, _pre in pretrained_backbones(model):
        key = f"{bb_path}.{init_key}"
        if isinstance(load_from, str) and load_from.strip() == checkpoint.strip():
            continue  # the whole model is loaded from it after the init anyway
        keys = _tensor_names(local.get(f"{key}.checkpoint"))
        prefix = init.get("prefix", None)
        if keys is not None:
            yield from _by_keys(key, checkpoint, prefix, keys)
            continue
        if prefix:
            continue
        if bb_path == "model.backbone" and any(b.key == "init_cfg.prefix"
                                               for _c, b in load_breaches(backbone, checkpoint, init)):
            continue  # an OpenMMLab release URL: DA816 reports it
        why = _by_name(checkpoint, words)
        if why:
            yield _finding(key, checkpoint, why, {"decided_by": "name"})


def _by_name(checkpoint: str, words) -> str | None:
    if runner_checkpoint(checkpoint):
        return "its name is one mmengine's CheckpointHook gives the checkpoints of a training run, which hold the whole model"
    word = detector_word(checkpoint, words)
    if word:
        return (f"its name starts as mmdet names its whole-detector checkpoints ('{word}_...', like the zoo's "
                f"{words[word]})")
    if MMDET_RELEASE.search(checkpoint):
        return "it is an mmdet release of a whole detector"
    return None


def _by_keys(key, checkpoint, prefix, keys):
    if not keys:
        return
    prefixes = top_prefixes(keys, depth=1)
    if prefix:
        if not any(k.startswith(prefix) for k in keys):
            yield Violation(
                message=(f"{key} loads {checkpoint!r} with prefix={prefix!r}, but none of the file's {len(keys)} "
                         f"tensor names starts with it (they start with "
                         f"{', '.join(repr(p['prefix'] + '.') for p in prefixes)}): mmengine loads nothing into the "
                         "backbone and it stays randomly initialised"),
                key_path=f"{key}.prefix",
                evidence={"checkpoint": checkpoint, "prefix": prefix, "tensors": len(keys),
                          "key_prefixes": prefixes, "decided_by": "keys"},
                fix=f"set {key}.prefix to the part of the names before the backbone's own (often 'backbone.'), "
                    "or remove it")
        return
    under = sum(k.startswith("backbone.") for k in keys)
    if under and under >= 0.1 * len(keys):
        why = (f"{under} of its {len(keys)} tensor names start with 'backbone.' (the file holds a whole model: "
               f"{', '.join(repr(p['prefix'] + '.') for p in prefixes)})")
        yield _finding(key, checkpoint, why, {"decided_by": "keys", "tensors": len(keys), "key_prefixes": prefixes})


def _finding(key, checkpoint, why, evidence):
    return Violation(
        message=(f"{key} loads {checkpoint!r} into the backbone without prefix='backbone.', but {why}: a whole "
                 "model's tensors are named 'backbone.*', 'neck.*', ..., none matches the backbone's own names, so "
                 "mmengine loads nothing into it (it only logs the unexpected keys) and the backbone stays randomly "
                 f"initialised. Add prefix='backbone.' to {key}, or start the whole model from it with load_from"),
        key_path=key,
        evidence={"checkpoint": checkpoint, **evidence},
        fix=f"add prefix='backbone.' to {key}, or set load_from={checkpoint!r} for the whole model")


def _tensor_names(path):
    """The tensor names of a local checkpoint (its ``state_dict`` or ``model`` entry, ``module.``
    stripped as mmengine does), or None when it cannot be read without running pickled code."""
    if not path:
        return None
    try:
        import os
        import pickle
        import zipfile

        import torch
    except ImportError:  # the static reader's environment may lack torch: the name decides
        return None
    try:
        mapped = zipfile.is_zipfile(path)
        if not mapped and os.path.getsize(path) > LEGACY_MAX_BYTES:
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
        except pickle.UnpicklingError:
            # a Runner checkpoint pickles more than tensors (message_hub, numpy in meta): stand in for those
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path) if mapped else []
            if not names:
                return None
            with torch.serialization.safe_globals([(_Inert, n) for n in names]):
                data = torch.load(path, map_location="cpu", weights_only=True, mmap=mapped)
    except Exception:  # noqa: BLE001 - an unreadable file: its name decides
        return None
    state = data
    if isinstance(data, dict):
        state = next((data[k] for k in ("state_dict", "model") if isinstance(data.get(k), dict)), data)
    if not isinstance(state, dict):
        return None
    return [re.sub(r"^module\.", "", k) for k, v in state.items() if isinstance(k, str) and hasattr(v, "shape")]


class _Inert(dict):
    """What a pickled object other than a tensor becomes while reading names: it runs no code."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()

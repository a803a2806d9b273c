"""Building the model as training builds it: on the CPU, in a world of one process, SyncBN
reverted, pretrained sources resolved from the local caches only (never downloaded),
``init_weights()``, the config's freeze hooks run as the Runner runs them, then
``model.train()``. The counts a config sizes for full-resolution images are capped on a copy
of the model config for the synthetic passes (:func:`~detaudit.facts.synthetic.cap_for_synthetic_input`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ErrorInfo


@dataclass
class ParamInfo:
    name: str
    numel: int
    requires_grad: bool
    shape: tuple


@dataclass
class BuildReport:
    """What building did besides producing the model."""

    pretrained: list[dict] = field(default_factory=list)   # per module: source, local file, remote
    init_error: ErrorInfo | None = None                     # init_weights() raised (the model still built)
    eval_at_build: list[str] = field(default_factory=list)  # modules in eval mode right after the build
    eval_after_hooks: list[str] = field(default_factory=list)  # ... and after the freeze hooks ran
    freeze_hooks: list[dict] = field(default_factory=list)  # custom hooks applied, or why not
    synthetic_caps: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, config value, cap)


def build_model(cfg, base_dir: Path, *, seed: int = 0, before_init=None):
    """(model, BuildReport). Raises whatever the model's construction raises. ``before_init``,
    if given, is called with the constructed model before ``init_weights()``."""
    import copy

    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS as ENGINE_MODELS, init_default_scope

    from .synthetic import cap_for_synthetic_input

    with contextlib.suppress(ImportError):
        from mmdet.utils import register_all_modules

        register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get("default_scope", "mmdet") or "mmdet")
    torch.manual_seed(seed)
    report = BuildReport()
    try:  # the caps apply to a copy: the rules read the config's own values
        model_cfg = copy.deepcopy(cfg.model)
    except Exception:  # noqa: BLE001 - an object that cannot be copied: build as written
        model_cfg = cfg.model
    else:
        report.synthetic_caps = cap_for_synthetic_input(model_cfg)
    with _single_process_world():
        model = ENGINE_MODELS.build(model_cfg)
    model = revert_sync_batchnorm(model)
    report.pretrained = strip_unavailable_pretrained(model, base_dir)
    if before_init is not None:
        before_init(model)
    try:
        with _without_init_info_tracking(model):
            model.init_weights()
    except Exception as exc:  # noqa: BLE001 - a bad init is a fact, not the end
        report.init_error = ErrorInfo.from_exception(exc)
    report.eval_at_build = sorted(n for n, m in model.named_modules() if n and not m.training)
    report.freeze_hooks = apply_freeze_hooks(cfg, model)
    # what the freeze hooks left in eval mode, for the rule on modes train() reverts (DA104)
    report.eval_after_hooks = sorted(n for n, m in model.named_modules() if n and not m.training)
    start_of_training_info()
    model.train()
    return model, report


def seed_independent_params(ctx) -> frozenset[str]:
    """The frozen parameters that no ``Pretrained`` init covers and that initialization sets
    on purpose: ``init_weights()`` writes over the constructor's random values a value that
    does not depend on the seed (EmbeddingRPNHead's whole-image proposal boxes). The model is
    built again under another seed to tell. A norm layer's 1 or 0, as constructed or as a
    zero-init of the residual branch writes it, is a neutral default, not a design: frozen
    without a pretrained source it is still reported."""
    import torch

    from .sandbox import no_network, quiet

    covered = [r["module"] for r in ctx.build_report.pretrained]
    candidates = {p.name for p in ctx.params if not p.requires_grad
                  and not any(m == "" or p.name == m or p.name.startswith(m + ".") for m in covered)}
    if not candidates:
        return frozenset()
    constructed = {}

    def keep_constructed(model):
        for name, param in model.named_parameters():
            if name in candidates:
                constructed[name] = param.detach().clone()

    try:
        with quiet(), no_network():
            other, _ = build_model(ctx.cfg, ctx.base_dir, seed=1, before_init=keep_constructed)
    except Exception:  # noqa: BLE001 - cannot tell: nothing is taken for constant
        return frozenset()
    mine, theirs = dict(ctx.model.named_parameters()), dict(other.named_parameters())
    found = set()
    with torch.no_grad():
        for name in candidates:
            a, b, before = mine.get(name), theirs.get(name), constructed.get(name)
            if a is None or b is None or before is None or a.shape != b.shape or before.shape != b.shape:
                continue
            # the constructor's values were random (not one repeated value like a norm layer's
            # 1 or 0, which zero_init_residual-style inits then overwrite with another constant)
            randomized = before.numel() > 1 and not bool((before == before.flatten()[0]).all())
            if randomized and torch.equal(a, b) and not torch.equal(before, b):
                found.add(name)
    del other, theirs
    return frozenset(found)


def param_table(model) -> list[ParamInfo]:
    return [ParamInfo(n, p.numel(), p.requires_grad, tuple(p.shape)) for n, p in model.named_parameters()]


def norm_layers(model) -> dict[str, bool]:
    """Every normalization layer with running statistics -> in train mode after train()."""
    from torch.nn.modules.batchnorm import _BatchNorm

    return {n: m.training for n, m in model.named_modules() if isinstance(m, _BatchNorm) and m.track_running_stats}


@contextlib.contextmanager
def _single_process_world():
    """mmcv's SyncBatchNorm asks ``torch.distributed`` for the world size in its constructor,
    which raises without a process group. The audit is one process (SyncBN layers are
    reverted to BN right after the build), so answer as a world of one while building."""
    try:
        import torch.distributed as dist
    except ImportError:
        yield
        return
    if not dist.is_available() or dist.is_initialized():
        yield
        return
    saved = (dist.get_world_size, dist.get_rank)
    dist.get_world_size = lambda group=None: 1
    dist.get_rank = lambda group=None: 0
    try:
        yield
    finally:
        dist.get_world_size, dist.get_rank = saved


@contextlib.contextmanager
def _without_init_info_tracking(model):
    """mmengine's ``init_weights`` logs which initializer touched each parameter by taking the
    mean of every parameter of the module after every ``init_cfg`` (modules x parameters
    reductions: ~10 s of a 13 s R101 build here). The log is never read by the audit; the
    initialization itself is unchanged. Giving every submodule the shared record mmengine
    would create makes ``init_weights`` skip the initial means and the final log dump too."""
    from collections import defaultdict

    try:
        from mmengine.model import base_module, weight_init
    except ImportError:
        yield
        return
    saved = (base_module.update_init_info, weight_init.update_init_info)

    def skip(module, init_info):
        return None

    record = defaultdict(dict)
    modules = list(model.modules())
    for m in modules:
        m._params_init_info = record
    base_module.update_init_info = weight_init.update_init_info = skip
    try:
        yield
    finally:
        base_module.update_init_info, weight_init.update_init_info = saved
        for m in modules:
            with contextlib.suppress(AttributeError):
                del m._params_init_info


def strip_unavailable_pretrained(model, base_dir: Path) -> list[dict]:
    """Point ``Pretrained`` inits at local files, and drop those that are not on this machine
    so that ``init_weights()`` never downloads. Returns what was done per module."""
    import copy

    from .pretrained import is_pretrained_init, resolve

    report = []
    names = {id(m): n for n, m in model.named_modules()}
    for m in model.modules():
        init_cfg = getattr(m, "init_cfg", None)
        if not init_cfg:
            continue
        entries = init_cfg if isinstance(init_cfg, list) else [init_cfg]
        kept = []
        for entry in entries:
            if is_pretrained_init(entry):
                src = entry.get("checkpoint")
                local, remote = resolve(src, base_dir)
                report.append({"module": names.get(id(m), ""), "source": src, "local": local, "remote": remote})
                if local is None:
                    continue
                entry = copy.copy(entry)  # keeps ConfigDict: some backbones read init_cfg.checkpoint
                entry["checkpoint"] = local
            kept.append(entry)
        m.init_cfg = kept if isinstance(init_cfg, list) else (kept[0] if kept else None)
    for m in model.modules():
        # Some backbones (DetectoRS_ResNet) keep the source in ``self.pretrained`` and load it
        # in their own init_weights(): same treatment, or init_weights() would download.
        src = getattr(m, "pretrained", None)
        if not isinstance(src, str) or not src or isinstance(getattr(type(m), "pretrained", None), property):
            continue
        local, remote = resolve(src, base_dir)
        if not remote and local is None and not src.endswith((".pth", ".pt", ".bin", ".ckpt")):
            continue  # not a checkpoint source
        report.append({"module": names.get(id(m), ""), "source": src, "local": local, "remote": remote})
        try:
            m.pretrained = local
        except (AttributeError, TypeError):
            pass
    return report


def start_of_training_info() -> None:
    """What mmengine's Runner has told the message hub before the first iteration: heads and
    batch augments that schedule on the epoch or iteration (TOOD, YOLOX) read it."""
    from mmengine.logging import MessageHub

    hub = MessageHub.get_current_instance()
    for key in ("epoch", "iter"):
        if hub.get_info(key) is None:
            hub.update_info(key, 0)


def apply_freeze_hooks(cfg, model) -> list[dict]:
    """Run custom hooks that freeze modules on a stand-in runner, in the order mmengine's
    Runner calls them before the first iteration (before_run, before_train,
    before_train_epoch), so the audited model is frozen the way training would freeze it."""
    import logging
    from types import SimpleNamespace

    report = []
    for i, hook_cfg in enumerate(cfg.get("custom_hooks", None) or []):
        type_name = str(getattr(hook_cfg, "get", lambda *_: "")("type", ""))
        if "Freeze" not in type_name:
            continue
        try:
            from mmengine.registry import HOOKS

            hook = HOOKS.build(hook_cfg)
            runner = SimpleNamespace(model=model, logger=logging.getLogger("detaudit.hooks"), cfg=cfg,
                                     epoch=0, iter=0, max_epochs=1, max_iters=1)
            for stage in ("before_run", "before_train", "before_train_epoch"):
                getattr(hook, stage)(runner)
            report.append({"index": i, "type": type_name, "applied": True})
        except Exception as exc:  # noqa: BLE001
            report.append({"index": i, "type": type_name, "applied": False, "error": f"{type(exc).__name__}: {exc}"})
    return report

"""AuditContext: the facts about one config, each computed on first use and at most once.

Facts go from cheap to expensive (static < build < checkpoint < optimizer < forward < train).
A fact that fails is stored as an :class:`ErrorInfo`; asking for it again raises
:class:`FactUnavailable` with the reason, which makes the asking rule *skipped*.
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ErrorInfo, FactUnavailable
from .rule import tier_rank
from .synthetic import DEFAULT_LONG_SIDE

NO_EXEC_REASON = "--no-exec: the config's code and the modules it imports are not executed (no model, optimizer or forward)"
MAX_BATCH = 2  # two samples catch per-image indexing bugs; more would only cost time


def fact(tier: str):
    """Memoize a fact; remember a failure and turn later requests into FactUnavailable."""

    def deco(fn):
        name = fn.__name__

        @functools.wraps(fn)
        def get(self):
            if name in self._facts:
                return self._facts[name]
            if name in self._failed:
                raise FactUnavailable(name, self._failed[name])
            if tier_rank(tier) > tier_rank(self.max_tier):
                self._failed[name] = f"tier '{tier}' not requested (--tier {self.cli_tier})"
                raise FactUnavailable(name, self._failed[name])
            refused = self.refusal(tier)
            if refused:
                self._failed[name] = refused
                raise FactUnavailable(name, refused)
            start = time.perf_counter()
            try:
                value = fn(self)
            except FactUnavailable as exc:
                self._failed[name] = exc.reason
                raise
            finally:
                self.timings[tier] = self.timings.get(tier, 0.0) + time.perf_counter() - start
            self._facts[name] = value
            return value

        get.tier = tier
        return property(get)

    return deco


@dataclass
class FreezeIntent:
    """Somebody says parameters under ``module`` should not train."""

    module: str
    source: str              # "lr_mult=0", "frozen_stages=1", "--expect-frozen", ...
    key_path: str | None
    params: list[str]        # the parameter names the intent covers
    scope: str = "all"       # "all" parameters of the module, or "norm" layers only
    detail: str = ""


@dataclass
class ParamInfo:
    name: str
    numel: int
    requires_grad: bool
    shape: tuple


@dataclass
class LossResult:
    losses: dict[str, Any]
    total: Any                               # the summed loss tensor (graph kept for the step)
    values: dict[str, float]
    bn_before: dict[str, tuple]              # BN module -> (running_mean, running_var) before


@dataclass
class StepResult:
    no_grad: list[str]                       # trainable params whose grad is None
    zero_grad: list[str]                     # trainable params whose grad is all zero
    bn_drift: dict[str, float]               # BN module -> max |delta| of running stats


class AuditContext:
    def __init__(self, config, *, cfg_options: dict | None = None, expect_frozen=(),
                 expect_frozen_source: str = "--expect-frozen", input_size=None,
                 tier: str = "train", base_dir: str | os.PathLike | None = None, no_exec: bool = False):
        from .rule import CLI_TIERS

        self.config_arg = config
        self.cfg_options = dict(cfg_options or {})
        self.expect_frozen = list(expect_frozen)
        self.expect_frozen_source = expect_frozen_source
        self.input_size_arg = input_size
        self.cli_tier = tier
        self.max_tier = CLI_TIERS[tier]
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.timings: dict[str, float] = {}
        self._facts: dict[str, Any] = {}
        self._failed: dict[str, str] = {}
        self.errors: dict[str, ErrorInfo] = {}
        large_allocations_to_mmap()
        self._forward_size: tuple[int, int] | None = None
        self.forward_retries: list[dict] = []
        self.input_unsupported: str | None = None  # why the synthetic batch cannot stand for the input
        # --no-exec: the config is read as data (static_config.py), nothing deeper is computed.
        self.no_exec = bool(no_exec)
        self.static_read = None
        # Set when the audit was stopped (--timeout): every fact not yet computed is refused.
        self.cancelled: str | None = None
        if isinstance(config, (str, os.PathLike)):
            self.config_path: Path | None = Path(config)
            self.display_path = _display(Path(config), self.base_dir)
        else:
            self.config_path = Path(config.filename) if getattr(config, "filename", None) else None
            self.display_path = _display(self.config_path, self.base_dir) if self.config_path else "<config>"

    # ------------------------------------------------------------------ static
    @fact("static")
    def cfg(self):
        """The loaded mmengine Config (``_base_`` and ``read_base()`` styles, cfg-options applied)."""
        if not isinstance(self.config_arg, (str, os.PathLike)):
            cfg = self.config_arg
        elif self.no_exec:
            cfg = self._static_cfg()
        else:
            try:
                from mmengine.config import Config

                if self.config_path.exists() and not self.config_path.is_file():
                    # a folder, FIFO or device would hang or fail deep inside mmengine
                    raise OSError(f"not a regular file: {self.config_path}")
                from .static_config import CircularBaseError, base_cycle

                cycle = base_cycle(self.config_path, display=lambda p: _display(p, self.base_dir))
                if cycle:
                    raise CircularBaseError(f"circular _base_ chain: {cycle}")
                with quiet():
                    cfg = Config.fromfile(str(self.config_path))
            except BaseException as exc:  # noqa: BLE001 - configs are arbitrary code
                if isinstance(exc, KeyboardInterrupt):
                    raise
                files = tuple(str(p) for p in self.source_map.files) + (str(self.config_path.resolve()),)
                self.errors["load"] = info = ErrorInfo.from_exception(exc, prefer_files=files)
                if isinstance(exc, SyntaxError) and not (info.file and os.path.isfile(info.file)):
                    # mmengine parses the text without a file name: find the file that fails to parse
                    info.file, info.line = _locate_syntax_error(self.config_path, self.source_map.files)
                raise FactUnavailable("cfg", f"config failed to load (DA001): {self.errors['load'].short()}")
        if self.cfg_options:
            try:
                cfg.merge_from_dict(self.cfg_options)
            except Exception as exc:  # noqa: BLE001
                self.errors["load"] = ErrorInfo.from_exception(exc)
                raise FactUnavailable("cfg", f"--cfg-options could not be applied: {exc}")
        return cfg

    def _static_cfg(self):
        """--no-exec: the config and its bases read as syntax trees, none of their code run."""
        from mmengine.config import Config

        from .static_config import StaticConfigError, read_static

        try:
            self.static_read = read_static(self.config_path, display=lambda p: _display(Path(p), self.base_dir))
            return Config(self.static_read.cfg, cfg_text="<read by --no-exec>", filename=str(self.config_path))
        except StaticConfigError as exc:
            self.errors["load"] = ErrorInfo("StaticConfigError", exc.message, file=exc.file, line=exc.line)
        except (KeyError, TypeError, ValueError, RecursionError, MemoryError) as exc:  # reserved keys, odd values
            self.errors["load"] = ErrorInfo.from_exception(exc)
        raise FactUnavailable("cfg", f"config could not be read without executing it (DA001): "
                                     f"{self.errors['load'].short()}")

    @fact("static")
    def static_issues(self) -> list:
        """--no-exec: the constructs the static reader could not evaluate (empty otherwise)."""
        if not self.no_exec:
            return []
        self.cfg
        return list(self.static_read.issues) if self.static_read is not None else []

    def refusal(self, tier: str) -> str | None:
        """Why no fact of ``tier`` may be computed any more, if so. Static facts other than the
        config itself (source map, pretrained sources) are cheap and run no config code, so they
        stay available to report what was found before a stop."""
        if tier_rank(tier) <= tier_rank("static"):
            return None
        if self.cancelled:
            # facts read off a model already built (parameter table, norm layers) stay cheap
            if tier == "build" and "model" in self._facts:
                return None
            return self.cancelled
        if self.no_exec:
            return NO_EXEC_REASON
        return None

    @property
    def load_error(self) -> ErrorInfo | None:
        with contextlib.suppress(FactUnavailable):
            self.cfg
        return self.errors.get("load")

    @fact("static")
    def source_map(self):
        from .sourcemap import SourceMap

        if self.config_path is None:
            sm = SourceMap()
        else:
            sm = SourceMap.from_file(self.config_path, display=lambda p: _display(p, self.base_dir))
        sm.add_cfg_options(self.cfg_options)
        return sm

    @fact("static")
    def pretrained_sources(self):
        from .pretrained import config_sources

        return config_sources(self.cfg, self.base_dir)

    # ------------------------------------------------------------------ build
    @fact("build")
    def model(self):
        """The model as training runs it: built on CPU, SyncBN converted, ``init_weights()``
        with pretrained sources resolved locally (never downloaded), freeze hooks applied,
        then ``model.train()``."""
        cfg = self.cfg
        if cfg.get("model", None) is None:
            self.errors["build"] = ErrorInfo("KeyError", "the config has no `model`")
            raise FactUnavailable("model", "model failed to build (DA002): the config has no `model`")
        try:
            with quiet(), no_network():
                model = self._build(cfg)
        except FactUnavailable:
            raise
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.errors["build"] = ErrorInfo.from_exception(exc)
            raise FactUnavailable("model", f"model failed to build (DA002): {self.errors['build'].short()}")
        return model

    @property
    def build_error(self) -> ErrorInfo | None:
        """Why the model did not build, None if it did; FactUnavailable if the config never loaded."""
        try:
            self.model
        except FactUnavailable:
            if "build" not in self.errors:
                raise
        return self.errors.get("build")

    def _build(self, cfg):
        import copy

        import torch
        from mmengine.model import revert_sync_batchnorm
        from mmengine.registry import MODELS as ENGINE_MODELS, init_default_scope

        from .synthetic import cap_for_synthetic_input

        with contextlib.suppress(ImportError):
            from mmdet.utils import register_all_modules

            register_all_modules(init_default_scope=False)
        init_default_scope(cfg.get("default_scope", "mmdet") or "mmdet")
        torch.manual_seed(0)
        try:  # the caps apply to a copy: the rules read the config's own values
            model_cfg = copy.deepcopy(cfg.model)
        except Exception:  # noqa: BLE001 - an object that cannot be copied: build as written
            model_cfg, self.synthetic_caps = cfg.model, []
        else:
            self.synthetic_caps = cap_for_synthetic_input(model_cfg)
        with _single_process_world():
            model = ENGINE_MODELS.build(model_cfg)
        model = revert_sync_batchnorm(model)
        self.init_report = strip_unavailable_pretrained(model, self.base_dir)
        self.init_error = None
        try:
            with _without_init_info_tracking(model):
                model.init_weights()
        except Exception as exc:  # noqa: BLE001 - a bad init is a fact, not the end
            self.init_error = ErrorInfo.from_exception(exc)
        self.eval_modules_at_build = sorted(n for n, m in model.named_modules() if n and not m.training)
        self.hook_report = apply_freeze_hooks(cfg, model)
        # what the freeze hooks left in eval mode, for the rule on modes train() reverts (DA104)
        self.eval_modules_after_hooks = sorted(n for n, m in model.named_modules() if n and not m.training)
        start_of_training_info()
        model.train()
        return model

    @fact("build")
    def module_names(self):
        return {id(m): n for n, m in self.model.named_modules()}

    @fact("build")
    def params(self) -> list[ParamInfo]:
        return [ParamInfo(n, p.numel(), p.requires_grad, tuple(p.shape))
                for n, p in self.model.named_parameters()]

    @fact("build")
    def freeze_intents(self) -> list[FreezeIntent]:
        from .intent import collect_intents

        return collect_intents(self)

    @fact("build")
    def norm_layers(self) -> dict[str, bool]:
        """Every normalization layer with running statistics -> in train mode after train()."""
        from torch.nn.modules.batchnorm import _BatchNorm

        return {n: m.training for n, m in self.model.named_modules()
                if isinstance(m, _BatchNorm) and m.track_running_stats}

    # ------------------------------------------------------------------ checkpoint
    @fact("checkpoint")
    def checkpoint(self):
        """What ``load_from`` holds, read on CPU (never downloaded), after mmengine's key
        revision, matched against the model's state_dict (see detaudit/checkpoint.py)."""
        from .checkpoint import checkpoint_fact

        return checkpoint_fact(self)

    # ------------------------------------------------------------------ optimizer
    @fact("optimizer")
    def optim_wrapper(self):
        """The config's own ``optim_wrapper`` built over the model (AMP replaced by a plain
        wrapper for the CPU step; its parameter groups are the same)."""
        cfg = self.cfg
        ow_cfg = cfg.get("optim_wrapper", None)
        if ow_cfg is None:
            self.errors["optimizer"] = ErrorInfo("KeyError", "the config has no `optim_wrapper`")
            raise FactUnavailable("optim_wrapper", "the config has no `optim_wrapper`")
        model = self.model
        try:
            import copy

            from mmengine.optim import build_optim_wrapper

            ow_cfg = copy.deepcopy(ow_cfg)
            if str(ow_cfg.get("type", "OptimWrapper")).endswith("AmpOptimWrapper"):
                ow_cfg["type"] = "OptimWrapper"
                for k in ("loss_scale", "dtype", "use_fsdp"):
                    ow_cfg.pop(k, None)
            with quiet():
                return build_optim_wrapper(model, ow_cfg)
        except Exception as exc:  # noqa: BLE001
            self.errors["optimizer"] = ErrorInfo.from_exception(exc)
            raise FactUnavailable("optim_wrapper", f"optim_wrapper failed to build: {self.errors['optimizer'].short()}")

    @fact("optimizer")
    def param_lr(self) -> dict[str, dict]:
        """Per parameter name: lr, weight_decay and group index as the optimizer holds them."""
        by_id = {id(p): n for n, p in self.model.named_parameters()}
        out: dict[str, dict] = {}
        for gi, group in enumerate(self.optim_wrapper.optimizer.param_groups):
            for p in group["params"]:
                name = by_id.get(id(p))
                if name is None:
                    continue
                entry = out.setdefault(name, {"lr": group.get("lr"), "weight_decay": group.get("weight_decay", 0.0),
                                              "groups": []})
                entry["groups"].append(gi)
        return out

    # ------------------------------------------------------------------ forward
    @fact("forward")
    def input_sizes(self) -> list[tuple[int, int]]:
        """Synthetic sizes to try, smallest first: the derived small size, then two, three and
        four times as large, for models that need a minimum input (DETR-style query counts
        larger than the number of feature tokens, deformable convolutions on the stride-128
        level), and last the exact size of a fixed-size test pipeline (SSD's extra layers).
        The steps are small because the cost grows with the area. ``--input-size`` pins one."""
        from .synthetic import derive_input_size, fixed_input_size

        if self.input_size_arg:
            return [tuple(self.input_size_arg)]
        model = self.model
        sizes = [derive_input_size(self.cfg, model, side)
                 for side in (DEFAULT_LONG_SIDE, 2 * DEFAULT_LONG_SIDE, 3 * DEFAULT_LONG_SIDE, 4 * DEFAULT_LONG_SIDE)]
        fixed = fixed_input_size(self.cfg)
        if fixed is not None:
            sizes.append(fixed)
        return list(dict.fromkeys(sizes))

    @property
    def input_size(self) -> tuple[int, int]:
        """The synthetic size the forward passes ran at (the first to try before they run)."""
        return self._forward_size or self.input_sizes[0]

    def _batch(self, training: bool, size=None):
        from .synthetic import make_batch

        return make_batch(self.cfg, self.model, size or self.input_size, self.batch_size(training), training=training)

    def batch_size(self, training: bool) -> int:
        """The batch size of the loader the pass stands for (``train_dataloader`` for the loss,
        ``test_dataloader`` or ``val_dataloader`` for predict), at most ``MAX_BATCH``: mmdet tests
        one image at a time, and some heads only support that at test time."""
        names = ("train_dataloader",) if training else ("test_dataloader", "val_dataloader")
        for name in names:
            loader = self.cfg.get(name)
            size = loader.get("batch_size") if hasattr(loader, "get") else None
            if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
                return min(size, MAX_BATCH)
        return MAX_BATCH

    def _forward(self, kind: str, run):
        """``run(size)`` at the smallest size that works, starting from the size an earlier pass
        settled on. Fails with the largest attempt's error when no size works, or at once when
        a larger input cannot help (a missing package, memory, a blocked download)."""
        from .synthetic import unsupported_input

        self.input_unsupported = unsupported_input(self.model)
        if self.input_unsupported:  # not the model's fault: the rules that need the pass are skipped with it
            raise FactUnavailable(f"{kind}_result", self.input_unsupported)
        sizes = self.input_sizes
        start = sizes.index(self._forward_size) if self._forward_size in sizes else 0
        first = last = None
        tried = []
        for size in sizes[start:]:
            tried.append("x".join(map(str, size)))
            tracker = ModuleTracker(self.module_names)
            failed = hopeless = False
            try:
                with quiet(), no_network(), tracker:
                    value = run(size)
            except BaseException as exc:  # noqa: BLE001 - audited code may raise anything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                module = deepest_module_in_traceback(exc, self.module_names) or tracker.deepest
                info = ErrorInfo.from_exception(exc, module=module)
                info.extra["input_size"] = list(size)
                first = first or info
                last = info
                failed = True
                hopeless = isinstance(exc, (ImportError, MemoryError, NetworkBlocked))
            finally:
                setattr(self, f"modules_called_{kind}", tracker.called)
            if failed:
                release_memory(after_error=True)  # outside the except block: its traceback is gone
                if hopeless:
                    break
                continue
            self._forward_size = size
            if first is not None:
                self.forward_retries.append({"pass": kind, "failed_at": first.extra["input_size"],
                                             "ran_at": list(size), "error": first.short()})
            return value
        # The largest size's error: a smaller size can fail only because it is too small.
        last.extra["sizes_tried"] = tried
        if last is not first:
            last.extra["smallest_size_error"] = first.short()
        self.errors[kind] = last
        from .parallel import not_the_models_fault

        what, code = {"predict": ("predict", "DA402"), "loss": ("loss forward", "DA403")}[kind]
        excuse = not_the_models_fault(last)
        if excuse:  # the audit's limits or this machine: DA402/DA403 skip it too
            raise FactUnavailable(f"{kind}_result", f"the {what} could not run here: {excuse}")
        label = f"{what} failed"
        if code in getattr(self, "selected_codes", ()):
            label += f" ({code})"  # point at the finding only when the report has it
        raise FactUnavailable(f"{kind}_result", f"{label}: {last.short()}")

    @fact("forward")
    def predict_result(self):
        import torch

        model = self.model

        def run(size):
            data = self._batch(training=False, size=size)
            model.eval()
            try:
                with torch.no_grad():
                    return model(**data, mode="predict")
            finally:
                model.train()

        out = self._forward("predict", run)
        release_memory()
        return out

    @fact("forward")
    def loss_result(self) -> LossResult:
        import torch
        from torch.nn.modules.batchnorm import _BatchNorm

        model = self.model
        model.train()
        snapshot = {}

        def run(size):
            snapshot.clear()
            snapshot.update({n: (m.running_mean.detach().clone(), m.running_var.detach().clone())
                             for n, m in model.named_modules()
                             if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_mean is not None})
            torch.manual_seed(0)
            data = self._batch(training=True, size=size)
            losses = model(**data, mode="loss")
            total, log_vars = model.parse_losses(losses)
            return losses, total, log_vars

        losses, total, log_vars = self._forward("loss", run)
        values = {k: float(v.detach() if hasattr(v, "detach") else v) for k, v in log_vars.items()}
        return LossResult(losses=losses, total=total, values=values, bn_before=dict(snapshot))

    @fact("forward")
    def modules_called(self) -> set[str]:
        for name in ("predict_result", "loss_result"):
            with contextlib.suppress(FactUnavailable):
                getattr(self, name)
        return set(getattr(self, "modules_called_predict", set())) | set(getattr(self, "modules_called_loss", set()))

    @fact("forward")
    def pipeline_probe(self):
        """The config's own test pipeline run on a synthetic image written to a temporary
        folder (detaudit/pipeline_probe.py). A pipeline that raises is recorded in the probe."""
        from .pipeline_probe import run_pipeline

        self.model  # the build registers mmdet's transforms and the custom imports
        try:
            with quiet(), no_network():
                return run_pipeline(self.cfg, self.input_size)
        except LookupError as exc:
            raise FactUnavailable("pipeline_probe", str(exc))

    @fact("forward")
    def pipeline_predict(self):
        """Predict on exactly what the test pipeline packed: success, or the exception."""
        from .pipeline_probe import predict_packed

        probe = self.pipeline_probe
        if probe.error is not None:
            raise FactUnavailable("pipeline_predict", f"the test pipeline failed: {probe.error.short()}")
        return predict_packed(self.model, probe.packed, self.module_names)

    # ------------------------------------------------------------------ train
    @fact("train")
    def step_result(self) -> StepResult:
        """One training step: backward of the total loss, then the config's optimizer step."""
        import torch

        loss = self.loss_result
        ow = self.optim_wrapper
        model = self.model
        named = dict(model.named_parameters())
        try:
            with quiet(), no_network():
                ow.optimizer.zero_grad(set_to_none=True)
                if not loss.total.requires_grad:
                    raise RuntimeError("the total loss does not require grad: nothing in it is trainable")
                loss.total.backward()
                release_memory()  # the graph is gone: let the optimizer state reuse its pages
                no_grad, zero_grad = [], []
                for n, p in named.items():
                    if not p.requires_grad:
                        continue
                    if p.grad is None:
                        no_grad.append(n)
                    elif not bool(p.grad.any()):  # no temporary mask as large as the parameter
                        zero_grad.append(n)
                _drop_grads_the_step_cannot_use(ow.optimizer, named.values())
                ow.step()
                ow.optimizer.zero_grad(set_to_none=True)
        except Exception as exc:  # noqa: BLE001
            self.errors["step"] = ErrorInfo.from_exception(exc)
            raise FactUnavailable("step_result", f"training step failed: {self.errors['step'].short()}")
        finally:
            loss.total = loss.total.detach()
        bn_drift = {}
        modules = dict(model.named_modules())
        for n, (mean, var) in loss.bn_before.items():
            m = modules[n]
            bn_drift[n] = float(max((m.running_mean - mean).abs().max(), (m.running_var - var).abs().max()))
        return StepResult(no_grad=no_grad, zero_grad=zero_grad, bn_drift=bn_drift)

    # ------------------------------------------------------------------ helpers for rules
    def config_value(self, key_path: str, default=None):
        node = self.cfg
        for part in key_path.split("."):
            if hasattr(node, "keys") and part in node:  # dict, ConfigDict or Config
                node = node[part]
            elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return node

    def module_of(self, path: str):
        return dict(self.model.named_modules()).get(path)


def _drop_grads_the_step_cannot_use(optimizer, params) -> None:
    """Before the step, and after the facts about gradients are read: a parameter in no group
    with a learning rate above 0 (``lr_mult=0``) cannot move, so its gradient only makes the
    optimizer allocate state for it (SGD's momentum, Adam's moments: as large again as the
    gradients). Dropping it keeps the audit's peak memory at what the step needs."""
    moving = {id(p) for group in optimizer.param_groups if _positive(group.get("lr", 1.0)) for p in group["params"]}
    dropped = False
    for p in params:
        if p.grad is not None and id(p) not in moving:
            p.grad = None
            dropped = True
    if dropped:
        release_memory()


def _positive(lr) -> bool:
    try:
        return float(lr) > 0
    except (TypeError, ValueError):  # a scheduler object or None: assume it moves
        return True


def deepest_module_in_traceback(exc: BaseException, names: dict[int, str]) -> str | None:
    """The innermost frame of the traceback that runs a method of one of the model's modules
    (a head's ``predict_by_feat`` runs outside any ``forward``, so hooks alone miss it)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        name = names.get(id(owner)) if owner is not None else None
        if name:
            found = name
        tb = tb.tb_next
    return found


class ModuleTracker:
    """Records which modules run, and the innermost module executing when an exception escapes."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.stack: list[str] = []
        self.called: set[str] = set()
        self.deepest: str | None = None
        self._handles = []

    def __enter__(self):
        from torch.nn.modules import module as tm

        def pre(mod, args):
            name = self.names.get(id(mod))
            if name is not None:
                self.stack.append(name)
                self.called.add(name)

        def post(mod, args, out):
            name = self.names.get(id(mod))
            if name is not None and self.stack and self.stack[-1] == name:
                self.stack.pop()

        self._handles = [tm.register_module_forward_pre_hook(pre), tm.register_module_forward_hook(post)]
        return self

    def __exit__(self, exc_type, exc, tb):
        for h in self._handles:
            h.remove()
        if exc is not None and self.stack:
            self.deepest = self.stack[-1] or "<model>"
        return False


def large_allocations_to_mmap() -> None:
    """Serve allocations of 1 MiB and more with mmap, so that a freed activation or gradient
    goes back to the OS at once instead of sitting in glibc's heap under the next peak."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD


def release_memory(*, after_error: bool = False) -> None:
    """Hand freed heap pages back to the OS between forward passes: glibc keeps them otherwise,
    and the next pass's allocations would stack on top (peak memory is what users run out of).
    After an error the traceback's frames form cycles that still hold the pass's tensors, so
    only then is a full garbage collection worth its ~0.2 s."""
    import ctypes

    if after_error:
        import gc

        gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextlib.contextmanager
def quiet():
    """Silence warnings and mmengine's logger while audited code runs: the report is the output."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from mmengine.logging import MMLogger

            logger = MMLogger.get_current_instance()
            old = logger.level
            logger.setLevel(logging.ERROR)
            for h in logger.handlers:
                h.setLevel(logging.ERROR)
        except Exception:  # noqa: BLE001 - mmengine absent: nothing to silence
            logger = None
        try:
            yield
        finally:
            if logger is not None:
                logger.setLevel(old)


class NetworkBlocked(OSError):
    pass


@contextlib.contextmanager
def no_network():
    """Refuse outgoing connections while audited code runs: detaudit never downloads."""
    import socket

    original_connect = socket.socket.connect
    original_create = socket.create_connection

    def refuse(*args, **kwargs):
        raise NetworkBlocked("detaudit blocks network access while auditing (a download was attempted)")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect = original_connect
        socket.create_connection = original_create


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


def _locate_syntax_error(config: Path, bases: list[Path]) -> tuple[str | None, int | None]:
    import ast

    for path in [Path(config).resolve(), *bases]:
        try:
            ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as exc:
            return str(path), exc.lineno
        except (OSError, ValueError):
            continue
    return str(config), None


def _display(path: Path | None, base: Path) -> str:
    if path is None:
        return "<config>"
    try:
        return os.path.relpath(Path(path).resolve(), base.resolve())
    except ValueError:
        return str(path)

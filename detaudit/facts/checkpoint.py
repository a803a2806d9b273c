"""The checkpoint view: what ``load_from`` would put into the model.

The file is read on the CPU with mmengine's own loader, the keys are revised the way
``Runner.load_checkpoint`` revises them (``state_dict`` entry, ``^module.`` stripped), and
the result is matched against the built model's ``state_dict()``: which tensors the
checkpoint covers (same name, same shape), which are missing, unexpected or of another
shape, per top-level module. The model itself is not touched: the view keeps names and
shapes only, never the checkpoint's tensors.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ErrorInfo, FactUnavailable
from ..rule.checkpoints import top_prefixes

# What mmengine's Runner.load_checkpoint applies to load_from (its default revise_keys).
MMENGINE_REVISE_KEYS = ((r"^module\.", ""),)

# Names of layers whose output size follows the number of classes. A mismatch in the first
# dimension of one of these (or of a layer whose first dimension is num_classes, +1 or x4,
# of the nearest module with ``num_classes``) is class-dependent: see `_class_dependent`.
CLASS_LAYER_HINTS = ("fc_cls", "conv_cls", "retina_cls", "atss_cls", "gfl_cls", "vfnet_cls", "conv_logits",
                     "cls_branches", "label_embedding", "class_embed", "fc_reg")

# Everything that is neither a tensor, a plain container nor numpy data (mmengine's
# HistoryBuffer in message_hub, ``builtins.getattr`` that pickles its statistics methods,
# ConfigDict, user classes) is replaced by this inert stand-in while unpickling.
_MAX_STANDINS = 64


class Opaque(dict):
    """Stand-in for a pickled object the auditor does not rebuild. It accepts whatever the
    unpickler feeds it (arguments, state, items) and runs no code of the original class;
    dict-like objects (ConfigDict) keep their items, so nested meta stays readable."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.args = args

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.update(state)
        self.state = state

    def append(self, item):
        self.setdefault("__items__", []).append(item)

    def extend(self, items):
        for item in items:
            self.append(item)

    def __repr__(self):
        return f"<opaque {dict.__repr__(self)}>"


def _opaque_getattr(obj, name):
    """Stands for ``builtins.getattr`` while unpickling: returns the inert :class:`Opaque`
    class (callable, and allowed by the restricted unpickler) instead of any real attribute."""
    return Opaque


@dataclass
class ShapeMismatch:
    key: str
    checkpoint_shape: tuple
    model_shape: tuple
    class_dependent: bool

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "checkpoint": list(self.checkpoint_shape), "model": list(self.model_shape),
                "class_dependent": self.class_dependent}


@dataclass
class ModuleCoverage:
    """Coverage of one top-level module (``backbone``, ``neck``, ``roi_head``, ...)."""

    module: str
    tensors: int             # tensors of the model's state_dict under the module
    covered: int             # of those, present in the checkpoint with the same shape
    numel: int
    covered_numel: int
    in_checkpoint: int       # checkpoint tensors whose name falls under the module
    mismatched: int          # same name, other shape

    @property
    def fraction(self) -> float:
        return self.covered_numel / self.numel if self.numel else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "covered": self.covered, "tensors": self.tensors,
                "covered_numel": self.covered_numel, "numel": self.numel, "in_checkpoint": self.in_checkpoint,
                "shape_mismatches": self.mismatched}


@dataclass
class CheckpointView:
    source: str                          # load_from as written
    path: str                            # the local file read
    size_bytes: int
    keys: dict[str, tuple]               # checkpoint tensor name (after revision) -> shape
    revised: int                         # how many names the revision changed
    model_keys: dict[str, tuple]         # model state_dict name -> shape
    matched: set[str]                    # names present in both with equal shapes
    missing: list[str]                   # in the model, not in the checkpoint
    unexpected: list[str]                # in the checkpoint, not in the model
    mismatched: list[ShapeMismatch]
    modules: list[ModuleCoverage]
    classes: tuple | None                # meta.dataset_meta.classes (or the legacy meta.CLASSES)
    meta: dict[str, Any] = field(default_factory=dict)
    unsafe_globals: list[str] = field(default_factory=list)
    suggestion: dict[str, Any] | None = None  # a key rewrite that would match far more tensors

    @property
    def numel(self) -> int:
        return sum(_numel(s) for s in self.model_keys.values())

    @property
    def covered_numel(self) -> int:
        return sum(_numel(self.model_keys[k]) for k in self.matched)

    @property
    def coverage(self) -> float:
        """Fraction of the model's state (by number of elements) the checkpoint provides."""
        total = self.numel
        return self.covered_numel / total if total else 1.0

    @property
    def tensor_coverage(self) -> float:
        return len(self.matched) / len(self.model_keys) if self.model_keys else 1.0

    @property
    def training_load_refuses(self) -> bool:
        """Would the training's own load stop on this file? mmengine's loader calls ``torch.load``
        without ``weights_only``; from torch 2.6 that means weights-only, which refuses the
        globals listed in ``self.unsafe_globals`` unless TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set."""
        if not self.unsafe_globals:
            return False
        if os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in ("1", "y", "yes", "true"):
            return False
        import torch

        try:
            major, minor = (int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
        except ValueError:
            return False
        return (major, minor) >= (2, 6)


    def module(self, name: str) -> ModuleCoverage | None:
        return next((m for m in self.modules if m.module == name), None)

    def summary(self) -> dict[str, Any]:
        return {
            "checkpoint": self.source,
            "covered_tensors": len(self.matched),
            "model_tensors": len(self.model_keys),
            "coverage": round(self.coverage, 4),
            "missing_prefixes": top_prefixes(self.missing),
            "unexpected_prefixes": top_prefixes(self.unexpected),
            "shape_mismatches": [m.to_dict() for m in self.mismatched[:10]],
            "modules": [m.to_dict() for m in self.modules],
        }


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n



# ---------------------------------------------------------------------- reading
def read_checkpoint(path: str) -> tuple[Any, list[str]]:
    """Load a checkpoint file on the CPU with mmengine's loader, without executing pickled code.

    torch >= 2.6 loads with ``weights_only=True`` by default, and a checkpoint written by
    mmengine's Runner holds more than tensors: numpy scalars in ``meta``, ``HistoryBuffer``
    objects (pickled through ``builtins.getattr``) in ``message_hub``, so the default load
    refuses it. Loading with ``weights_only=False`` would run whatever code the pickle names,
    which an auditor must not do with a file it only inspects. So the restricted unpickler
    stays on (forced, even when ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set): numpy data is
    rebuilt for real, and every other global the file names is mapped to the inert
    :class:`Opaque`, which keeps tensors and plain meta intact and runs nothing.

    Returns the checkpoint and the globals torch's default loader refuses (what a plain
    ``torch.load`` in training trips over).
    """
    import pickle

    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    try:
        unsafe = list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001 - legacy (non-zip) files: the names are found while loading
        unsafe = []
    allowed = _numpy_data_globals() + [(_opaque_getattr, "builtins.getattr")]
    allowed_names = {name for _, name in allowed}
    standins = {name for name in unsafe if name not in allowed_names}
    for _ in range(_MAX_STANDINS):
        with _weights_only_forced(), torch.serialization.safe_globals(
                allowed + [(Opaque, name) for name in sorted(standins - allowed_names)]):
            try:
                checkpoint = CheckpointLoader.load_checkpoint(path, map_location="cpu")
                return checkpoint, sorted(set(unsafe) | standins)
            except pickle.UnpicklingError as exc:
                names = set(re.findall(r"GLOBAL ([\w\.]+)", str(exc))) - standins
                if not names:
                    raise
                standins |= names
    raise RuntimeError(f"{path}: more than {_MAX_STANDINS} kinds of pickled objects besides tensors")


def _numpy_data_globals() -> list[tuple[Any, str]]:
    """(object, pickled name) for numpy's array, scalar and dtype reconstruction, under the
    numpy 2 (``numpy._core``) and numpy 1 (``numpy.core``) names."""
    import numpy as np

    out = []
    core = getattr(np, "_core", None) or getattr(np, "core")
    for attr in ("scalar", "_reconstruct"):
        obj = getattr(core.multiarray, attr, None)
        if obj is not None:
            out += [(obj, f"numpy._core.multiarray.{attr}"), (obj, f"numpy.core.multiarray.{attr}")]
    out += [(np.ndarray, "numpy.ndarray"), (np.dtype, "numpy.dtype")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        out += [(getattr(dtypes, n), f"numpy.dtypes.{n}") for n in dir(dtypes) if n.endswith("DType")]
    return out


@contextlib.contextmanager
def _weights_only_forced():
    """mmengine's local loader calls ``torch.load`` without ``weights_only``, so an environment
    that sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (a common workaround for mmengine on torch 2.6+)
    would turn unrestricted unpickling on. Force the restricted mode for this one call."""
    keys = ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def state_dict_of(checkpoint) -> dict:
    """The tensors mmengine loads: ``checkpoint['state_dict']`` if present, else the file itself."""
    import torch

    sd = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else {}
    if not isinstance(sd, dict):
        return {}
    return {str(k): v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def revise_keys(keys, revisions=MMENGINE_REVISE_KEYS) -> tuple[dict[str, str], int]:
    """original name -> revised name, and how many names changed."""
    out, changed = {}, 0
    for k in keys:
        new = k
        for pattern, repl in revisions:
            new = re.sub(pattern, repl, new)
        out[k] = new
        changed += new != k
    return out, changed


def classes_of(checkpoint) -> tuple | None:
    meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict):
        return None
    dataset_meta = meta.get("dataset_meta")
    classes = dataset_meta.get("classes") if isinstance(dataset_meta, dict) else None
    if classes is None:
        classes = meta.get("CLASSES")  # MMDetection 2.x checkpoints
    if isinstance(classes, str):
        return (classes,)
    if isinstance(classes, (list, tuple)) and all(isinstance(c, str) for c in classes):
        return tuple(classes)
    return None


def _plain_meta(checkpoint) -> dict[str, Any]:
    meta = checkpoint.get("meta") if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict):
        return {}
    out = {}
    for k in ("epoch", "iter", "mmengine_version", "mmdet_version", "experiment_name", "time"):
        v = meta.get(k)
        if isinstance(v, (int, float, str)) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0):
            out[k] = v.item() if hasattr(v, "item") else v
    return out


# ---------------------------------------------------------------------- matching
def build_view(model, checkpoint, *, source: str = "", path: str = "", size_bytes: int = 0,
               unsafe_globals=()) -> CheckpointView:
    """Match a loaded checkpoint against ``model.state_dict()`` after mmengine's key revision."""
    raw = state_dict_of(checkpoint)
    renames, changed = revise_keys(raw)
    keys = {renames[k]: tuple(v.shape) for k, v in raw.items()}
    model_keys = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    matched, mismatched = _match(model, keys, model_keys)
    missing = [k for k in model_keys if k not in keys]
    unexpected = [k for k in keys if k not in model_keys]
    modules = _per_module(model, keys, model_keys, matched, mismatched)
    view = CheckpointView(source=source, path=path, size_bytes=size_bytes, keys=keys, revised=changed,
                          model_keys=model_keys, matched=matched, missing=missing, unexpected=unexpected,
                          mismatched=mismatched, modules=modules, classes=classes_of(checkpoint),
                          meta=_plain_meta(checkpoint), unsafe_globals=list(unsafe_globals))
    view.suggestion = _suggest(model, keys, model_keys, len(matched))
    return view


def _match(model, keys, model_keys):
    matched, mismatched = set(), []
    owners = None
    for k, shape in keys.items():
        if k not in model_keys:
            continue
        if model_keys[k] == shape:
            matched.add(k)
        else:
            if owners is None:
                owners = dict(model.named_modules())
            mismatched.append(ShapeMismatch(k, shape, model_keys[k],
                                            _class_dependent(owners, k, shape, model_keys[k])))
    return matched, mismatched


def _class_dependent(modules: dict, key: str, ckpt_shape: tuple, model_shape: tuple) -> bool:
    """Does this tensor's shape follow the number of classes? By name, or because the one
    dimension that differs is num_classes (+1 for background, x4 for per-class boxes) of the
    nearest module that has ``num_classes``."""
    if len(ckpt_shape) != len(model_shape) or not model_shape:
        return False
    diff = [i for i, (a, b) in enumerate(zip(ckpt_shape, model_shape)) if a != b]
    if diff != [0]:  # classes are always the output (first) dimension
        return False
    if any(h in key.split(".") for h in CLASS_LAYER_HINTS):
        return True
    parts = key.split(".")[:-1]
    n = None
    while parts:
        mod = modules.get(".".join(parts))
        n = getattr(mod, "num_classes", None)
        if isinstance(n, int) and n > 0:
            break
        parts.pop()
        n = None
    if n is None:
        return False
    d_model, d_ckpt = model_shape[0], ckpt_shape[0]
    for f in (lambda c: c, lambda c: c + 1, lambda c: 4 * c, lambda c: 4 * (c + 1)):
        if f(n) == d_model and any(f(c) == d_ckpt for c in range(1, d_ckpt + 1)):
            return True
    return False


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _per_module(model, keys, model_keys, matched, mismatched) -> list[ModuleCoverage]:
    mism = Counter(_top(m.key) for m in mismatched)
    in_ckpt = Counter(_top(k) for k in keys)
    rows: dict[str, ModuleCoverage] = {}
    for k, shape in model_keys.items():
        top = _top(k)
        row = rows.setdefault(top, ModuleCoverage(top, 0, 0, 0, 0, in_ckpt.get(top, 0), mism.get(top, 0)))
        row.tensors += 1
        row.numel += _numel(shape)
        if k in matched:
            row.covered += 1
            row.covered_numel += _numel(shape)
    return list(rows.values())


def _suggest(model, keys, model_keys, current: int) -> dict[str, Any] | None:
    """A key rewrite (strip a leading component, or add a module prefix) that would match
    clearly more tensors than mmengine's revision does: the usual prefix mismatches."""
    if not keys:
        return None
    candidates = []
    firsts = Counter(_top(k) for k in keys if "." in k)
    for first, count in firsts.most_common(3):
        if count * 2 >= len(keys) and first not in {_top(m) for m in model_keys}:
            candidates.append(("strip", f"{first}."))
    for top in sorted({_top(m) for m in model_keys if "." in m}):
        candidates.append(("add", f"{top}."))
    best = None
    for kind, prefix in candidates:
        if kind == "strip":
            names = {k[len(prefix):]: s for k, s in keys.items() if k.startswith(prefix)}
        else:
            names = {prefix + k: s for k, s in keys.items()}
        hits = sum(1 for k, s in names.items() if model_keys.get(k) == s)
        if best is None or hits > best["matched"]:
            best = {"rewrite": kind, "prefix": prefix, "matched": hits}
    if best and best["matched"] >= max(2 * current, current + 10) and best["matched"] * 2 >= len(keys):
        return best
    return None


# ---------------------------------------------------------------------- the fact
def checkpoint_fact(ctx) -> CheckpointView:
    """Compute ``ctx.checkpoint``. Unavailable (never a download) when there is no
    ``load_from``, when it is remote and not cached (DA205), when the file is missing
    (DA201), or when it cannot be read (``ctx.errors['checkpoint']``)."""
    from .sandbox import no_network, quiet
    from .pretrained import resolve

    source = ctx.cfg.get("load_from", None)
    if not source:
        raise FactUnavailable("checkpoint", "the config sets no load_from")
    if not isinstance(source, str):
        raise FactUnavailable("checkpoint", f"load_from is not a path: {source!r}")
    local, remote = resolve(source, ctx.base_dir)
    if local is None:
        if remote:
            raise FactUnavailable("checkpoint", f"load_from '{source}' is remote and not in the local cache "
                                                "(DA205); detaudit does not download")
        raise FactUnavailable("checkpoint", f"load_from '{source}' does not exist here (DA201)")
    model = ctx.model
    try:
        with quiet(), no_network():
            checkpoint, unsafe = read_checkpoint(local)
    except Exception as exc:  # noqa: BLE001 - any file may sit behind load_from
        info = ctx.record_error("checkpoint", ErrorInfo.from_exception(exc))
        raise FactUnavailable("checkpoint", f"load_from '{source}' could not be read as a checkpoint: "
                                            f"{info.short()}")
    try:
        size = Path(local).stat().st_size
    except OSError:
        size = 0
    view = build_view(model, checkpoint, source=source, path=local, size_bytes=size, unsafe_globals=unsafe)
    if not view.keys:
        ctx.record_error("checkpoint", ErrorInfo("ValueError", f"{local} holds no tensors (no state_dict)"))
    return view
"""The feature maps each prior-generating head receives in the loss pass (fact ``feature_sizes``).

A head with a ``prior_generator`` (anchor heads, point heads, the RPN; guided anchoring's and
SABL's square anchor generator) lays its priors on each
feature level at the stride it declares; the real stride of a level is the input's size over the
level's size. :func:`recording` hooks the heads' ``forward`` (and the backbone's, for the size of
the batch as the network sees it, padding included) while the loss pass runs, and keeps the first
call of each; the record survives a pass that fails after the head was called (more strides than
levels fails inside the head). It also keeps the channels of the maps each component that declares
``in_channels`` received, so that a crash can be read against what the config declares.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field


@dataclass
class HeadInputs:
    """What one head received: the (h, w) of each feature map, and the strides its prior
    generator holds, as (w, h) pairs as mmdet keeps them."""

    sizes: list[tuple[int, int]]
    strides: list[tuple[float, float]]
    generator: str = "prior_generator"  # the head's attribute holding them


@dataclass
class FeatureSizes:
    """The ``feature_sizes`` fact: the (H, W) of the batch the backbone received (None when the
    model has no ``backbone``), and per head module name what it received."""

    input: tuple[int, int] | None = None
    heads: dict[str, HeadInputs] = field(default_factory=dict)
    # per component (a module of the detector's own kind that keeps ``in_channels``, by module name):
    # the channels of each 4-D map its first call received, in order
    channels: dict[str, list[int]] = field(default_factory=dict)


# The attributes a head keeps its prior generator in: guided anchoring and SABL lay square anchors
# (and approximations of them) instead of a ``prior_generator``.
GENERATORS = ("prior_generator", "square_anchor_generator", "approx_anchor_generator")


def _generator(module) -> str | None:
    return next((a for a in GENERATORS if _strides(module, a) is not None), None)


def _strides(module, attr: str = "prior_generator") -> list[tuple[float, float]] | None:
    strides = getattr(getattr(module, attr, None), "strides", None)
    if not isinstance(strides, (list, tuple)) or not strides:
        return None
    out = []
    for s in strides:
        pair = tuple(s) if isinstance(s, (list, tuple)) else (s, s)
        if len(pair) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair):
            return None
        out.append((float(pair[0]), float(pair[1])))
    return out


def _maps(args) -> list[tuple[int, int]] | None:
    """The (h, w) of each 4-D tensor of the first argument when it is a sequence of them."""
    import torch

    first = args[0] if args else None
    if not isinstance(first, (list, tuple)) or not first:
        return None
    if not all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in first):
        return None
    return [(int(t.shape[-2]), int(t.shape[-1])) for t in first]


@contextlib.contextmanager
def recording(model, names: dict[int, str], into: FeatureSizes):
    """Record into ``into`` what the model's prior-generating heads and its backbone receive."""
    import torch

    handles = []

    def on_backbone(mod, args):
        if into.input is None and args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
            into.input = (int(args[0].shape[-2]), int(args[0].shape[-1]))

    def on_head(mod, args):
        name = names.get(id(mod))
        if name is None or name in into.heads:
            return
        generator = _generator(mod)
        sizes = _maps(args)
        if sizes is not None and generator is not None:
            into.heads[name] = HeadInputs(sizes=sizes, strides=_strides(mod, generator), generator=generator)

    def on_component(mod, args):
        name = names.get(id(mod))
        if name is None or name in into.channels or not args:
            return
        first = args[0]
        maps = [first] if isinstance(first, torch.Tensor) else list(first) if isinstance(first, (list, tuple)) else []
        if maps and all(isinstance(t, torch.Tensor) and t.dim() == 4 for t in maps):
            into.channels[name] = [int(t.shape[1]) for t in maps]

    try:
        backbone = getattr(model, "backbone", None)
        if isinstance(backbone, torch.nn.Module):
            handles.append(backbone.register_forward_pre_hook(on_backbone))
        for module in model.modules():
            if _generator(module) is not None:
                handles.append(module.register_forward_pre_hook(on_head))
            if _declares_in_channels(module):
                handles.append(module.register_forward_pre_hook(on_component))
        yield into
    finally:
        for h in handles:
            h.remove()


def _declares_in_channels(module) -> bool:
    """A component a config dict builds with ``in_channels`` (a neck, a head, a backbone), not one of
    torch's or mmcv's layers, which keep the attribute too."""
    if not hasattr(module, "in_channels"):
        return False
    where = type(module).__module__ or ""
    return not where.startswith(("torch.", "mmcv."))


def feature_sizes(ctx) -> FeatureSizes:
    """The sizes the loss pass recorded; a failed loss pass keeps what was seen before it failed."""
    from ..errors import FactUnavailable

    with contextlib.suppress(FactUnavailable):
        ctx.loss_result
    seen = ctx.forward_state.feature_sizes
    if seen.input is None or not seen.heads:
        reason = ctx.errors["loss"].short() if "loss" in ctx.errors else "no head with a prior generator ran"
        raise FactUnavailable("feature_sizes", f"no feature map sizes recorded: {reason}")
    return seen


def received_channels(ctx) -> dict[str, list[int]]:
    """What each component declaring ``in_channels`` received in the loss pass (kept when it failed)."""
    from ..errors import FactUnavailable

    with contextlib.suppress(FactUnavailable):
        ctx.loss_result
    return dict(ctx.forward_state.feature_sizes.channels)

"""Milestones of mmengine's ``MultiStep*`` schedulers (``MultiStepLR``, ``MultiStepMomentum``,
``MultiStepParamScheduler``) against the counter they are compared with.

mmengine's ``MultiStepParamScheduler`` decays when its ``last_step`` is one of the
milestones. ``last_step`` is an integer that counts the scheduler's own steps: 0 at
``begin``, one more per epoch (``by_epoch=True``) or iteration, up to ``end - begin - 1``.
So a milestone fires at ``begin + milestone``, and only if it is a whole number >= 0.
With ``convert_to_iter_based=True`` the milestones are multiplied by the epoch length
first (``build_iter_from_epoch``), and a fractional one fires only where that product is a
whole number.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterator

from .declare import Violation


def _num(v: Any):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _whole(m) -> bool:
    return float(m).is_integer()


def converted(s: Any) -> bool:
    """Whether mmengine builds this epoch-counted entry per iteration (``convert_to_iter_based``)."""
    return s.get("convert_to_iter_based", False) is True and s.get("by_epoch", True) is True


def _milestones(s: Any) -> list:
    ms = s.get("milestones", None)
    return [m for m in ms if _num(m) is not None] if isinstance(ms, (list, tuple)) else []


def on_counter(s: Any) -> list:
    """The milestones that can equal the step counter: whole and not negative (every
    fractional one too when the entry is converted to iterations: it may)."""
    conv = converted(s)
    return [m for m in _milestones(s) if m >= 0 and (conv or _whole(m))]


def from_begin(begin, milestones: list, unit: str) -> str:
    """`` (at epochs 9, 12: mmengine counts milestones from begin=1)`` when begin is not 0."""
    if not begin or not milestones:
        return ""
    at = ", ".join(f"{begin + m:g}" for m in milestones)
    return f" (at {unit}s {at}: mmengine counts milestones from begin={begin})"


def _param(kind: str) -> str:
    return "learning rate" if kind.endswith("LR") else "momentum" if kind.endswith("Momentum") else "parameter"


def _denominator(m) -> int:
    return Fraction(m).limit_denominator(10000).denominator


def off_counter_milestones(key: str, s: Any) -> Iterator[Violation]:
    """Violations for milestones the scheduler's step counter never equals (negative, or not
    whole), or equals only by chance of the epoch length (fractions of an epoch converted to
    iterations)."""
    kind = s.get("type", "MultiStep")
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", "MultiStep")
    kind = kind.split(".")[-1]
    milestones = _milestones(s)
    by_epoch = s.get("by_epoch", True) is not False
    unit = "epoch" if by_epoch else "iteration"
    begin = _num(s.get("begin", 0)) or 0
    ev = {"scheduler": kind, "milestones": list(milestones), "by_epoch": by_epoch, "begin": begin,
          "convert_to_iter_based": converted(s)}
    negative = [m for m in milestones if m < 0]
    fractional = [m for m in milestones if m >= 0 and not _whole(m)]
    if negative:
        yield Violation(
            message=(f"{kind} milestones {negative} are negative: the scheduler counts its {unit}s from 0 at "
                     f"begin={begin}, so those decays never happen"),
            key_path=f"{key}.milestones", evidence=ev,
            fix=f"give the milestones as {unit}s counted from begin={begin}")
    if fractional and not converted(s):
        whole = sorted({round(m) for m in fractional})
        yield Violation(
            message=(f"{kind} milestones {fractional} are not whole numbers: mmengine decays when its integer "
                     f"{unit} counter equals a milestone, which never happens, so the {_param(kind)} is never "
                     f"decayed there" + (" (by_epoch=True without convert_to_iter_based=True)" if by_epoch else "")),
            key_path=f"{key}.milestones", evidence=ev,
            fix=(f"give whole {unit}s (e.g. {whole})" + (
                "; to decay within an epoch, count iterations (by_epoch=False) or set convert_to_iter_based=True "
                "with milestones that make whole iterations" if by_epoch else "")))
    elif fractional:
        need = {f"{m:g}": _denominator(m) for m in fractional}
        yield Violation(
            message=(f"{kind} milestones {fractional} are fractions of an epoch: with convert_to_iter_based=True "
                     f"mmengine multiplies them by the number of iterations per epoch and decays only where the "
                     f"product is a whole number: "
                     + "; ".join(f"{m} only if an epoch has a multiple of {q} iterations" for m, q in need.items())
                     + " (and the floating-point product comes out exact); otherwise those decays never happen"),
            key_path=f"{key}.milestones", evidence=dict(ev, iterations_multiple_of=need),
            fix="give whole epochs, or count iterations (by_epoch=False) with whole-iteration milestones")

from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.config import type_name
from detaudit.rule.merge import where

from ._zoo_tables import learnt_table
from .da889_backbone_weights_as_load_from import is_backbone_source

# Schedulers that open a schedule at a reduced learning rate: mmdet's recipes start with one of these.
WARMUPS = ("LinearLR", "ConstantLR", "QuadraticWarmupLR", "QuadraticWarmupParamScheduler")


SHARE = 0.9  # report only detector types whose zoo recipes nearly all warm up (DETR-style ones do not)
TABLE = Path(__file__).with_name("zoo_warmup_share.json")  # scripts/zoo_warmup_share.py


def opens_with_warmup(kind, begin) -> bool:
    """Whether a scheduler of this type starting at ``begin`` is a warmup at the start of training."""
    kind = type_name(kind) or ""
    return (kind in WARMUPS or "Warmup" in kind) and begin in (0, None)


def _warmup(element) -> bool:
    return opens_with_warmup(element.type, element.values.get("begin", 0))


def _zoo_share() -> dict[str, list[int]]:
    return learnt_table(TABLE, "types")


@rule(code="DA891", name="inherited-warmup-dropped", severity="warning", tier="static",
      needs=("replaced_lists", "key_history"))
def inherited_warmup_dropped(ctx):
    """A config's own ``param_scheduler`` throws away the warmup of its base's schedule.

    ## What it does
    Finds a ``param_scheduler`` list that a later file (or ``--cfg-options``) wrote over the
    base's, or one scheduler dict written with ``_delete_=True`` in its place, where the base's
    list opened with a warmup (``LinearLR``, ``ConstantLR`` or a quadratic warmup starting at 0)
    and what replaces it has none, and names the warmup lost and
    where the base wrote it. A config that loads a trained detector (``load_from``) is not
    reported: fine-tuning starts from heads that are not fresh, and the zoo's fine-tuning recipes
    (Grounding DINO's) start without a warmup. Nor is a detector type whose zoo recipes often
    train without one (DETR, DINO, Mask2Former: under 90% of them warm up,
    ``rules/zoo_warmup_share.json``, written by ``scripts/zoo_warmup_share.py``).

    ## Why is this bad?
    mmengine replaces lists whole. A child that rewrites the schedule to change its milestones
    or its unit (epochs to iterations) and lists only the ``MultiStepLR`` drops the warmup with
    the rest: training starts at the full learning rate, where freshly initialized heads can
    diverge (losses turn NaN in the first iterations) or settle worse.

    ## Example
    ```python
    _base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
    param_scheduler = [dict(type='MultiStepLR', by_epoch=False, begin=0, end=90000,
                            milestones=[60000, 80000], gamma=0.1)]
    ```

    ## Use instead
    ```python
    param_scheduler = [
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=90000, milestones=[60000, 80000], gamma=0.1)]
    ```
    """
    model = ctx.cfg.get("model", None)
    detector = type_name(model.get("type", None)) if hasattr(model, "get") else None
    share = _zoo_share().get(detector or "")
    if share and share[1] < SHARE * share[0]:
        return  # the zoo trains this detector type without a warmup too
    load_from = ctx.cfg.get("load_from", None)
    if isinstance(load_from, str) and load_from.strip() and not is_backbone_source(load_from):
        return  # fine-tuning a trained detector: its heads are not fresh, recipes start it without warmup
    for r in ctx.replaced_lists:
        if r.key_path != "param_scheduler":
            continue
        lost = [e.values | {"type": e.type} for e in r.old if _warmup(e)]
        if lost and not any(_warmup(e) for e in r.new):
            yield _dropped(lost[0], f"written at {where(r.loc)} replaces the base's list ({where(r.old_loc)})",
                           where(r.old_loc))
            return
    single = _replaced_by_one_scheduler(ctx.key_history.of("param_scheduler"))
    if single is not None:  # `param_scheduler = dict(_delete_=True, ...)`: one scheduler in place of the list
        new, old = single
        lost = [e for e in old.value if hasattr(e, "get") and opens_with_warmup(e.get("type"), e.get("begin", 0))]
        if lost and not opens_with_warmup(new.value.get("type"), new.value.get("begin", 0)):
            yield _dropped(lost[0], f"written at {where(new)} as one {type_name(new.value.get('type'))} replaces the "
                                    f"base's list ({where(old)})", where(old))


def _replaced_by_one_scheduler(history):
    """(the dict assignment the config ends with, the list it replaced) when a single scheduler
    dict took the place of a base's list; None otherwise."""
    final = next((a for a in reversed(history) if a.status == "set"), None)
    if final is None or final.kind != "dict" or not final.literal:
        return None
    lists = [a for a in history if a.kind == "list" and a.literal and a.stamp <= final.stamp and a is not final]
    return (final, lists[-1]) if lists else None


def _dropped(warmup: dict, how: str, base_at: str) -> Violation:
    kind = type_name(warmup.get("type"))
    detail = ", ".join(f"{k}={warmup[k]!r}" for k in ("start_factor", "end", "by_epoch") if k in warmup)
    return Violation(
        message=f"param_scheduler {how} and drops its warmup, {kind}({detail}): training starts at the full learning rate",
        key_path="param_scheduler",
        evidence={"dropped": kind, "warmup": {k: v for k, v in warmup.items() if k != "type"}, "base_at": base_at},
        fix=(f"list the warmup again before the new schedule (dict(type='{kind}', ...)), or "
             "leave it out only for a run that starts from a trained detector"))

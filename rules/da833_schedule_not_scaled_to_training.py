from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, train_loop, type_name

# The learning rate may settle for the last part of training, not for most of it: on the zoo's
# 795 configs whose schedule decays, the last change comes at 60% of training or later, except in
# configs whose schedule was not scaled with their length (the 2x/3x variants that keep the 1x
# scheduler's end=12).
SHORTEST_SHARE = 0.55


def _schedulers(cfg, unit: str):
    """(key path, scheduler dict, begin, end) of the schedulers counted in the loop's unit."""
    value = cfg.get("param_scheduler", None)
    items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
    for i, s in items:
        if not is_mapping(s):
            continue
        if bool(s.get("by_epoch", True)) != (unit == "epoch") or s.get("convert_to_iter_based", False):
            continue
        end = s.get("end", None)
        yield ("param_scheduler" if i is None else f"param_scheduler.{i}"), s, s.get("begin", 0) or 0, end


def _last_change(s, begin, end):
    """Where the scheduler last changes the rate (None: it keeps changing to the end of training)."""
    milestones = [m for m in (s.get("milestones", None) or []) if isinstance(m, (int, float))]
    if "MultiStep" in (type_name(s.get("type", None)) or "") and milestones:
        last = begin + max(milestones)
        return min(last, end) if isinstance(end, (int, float)) else last
    return end if isinstance(end, (int, float)) else None


@rule(code="DA833", name="schedule-not-scaled-to-training", severity="warning", tier="static", needs=())
def schedule_not_scaled_to_training(ctx):
    """The learning-rate schedule ends long before training does, or its milestones lie past its own end.

    ## What it does
    Reads each ``param_scheduler`` counted in the training loop's unit (epochs for
    ``max_epochs``, iterations for ``max_iters``) and reports:

    - ``milestones`` at or past the scheduler's own ``end`` (``begin`` + milestone): mmengine
      steps a scheduler only between ``begin`` and ``end``, so those decays never happen;
    - a schedule whose last change of the learning rate comes before 55% of training (the
      last milestone, or the ``end`` of the last scheduler that ends): the rest of training
      runs at the final, decayed rate. Every zoo config that decays its rate does so at 60%
      of training or later, except the ones with the first mistake.

    ## Why is this bad?
    Lengthening training (``max_epochs=12`` to ``75``, a 1x config turned 3x) without scaling
    the schedule is silent: training runs, and most of it at a learning rate a hundred times
    below the one meant, or the decays written for the longer schedule never happen because
    the base's ``end=12`` still bounds the scheduler.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_cfg = dict(max_epochs=36)   # the 1x scheduler: end=12, milestones=[8, 11]
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_cfg = dict(max_epochs=36)
    param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
                       dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1)]
    ```
    """
    loop = train_loop(ctx.cfg)
    if loop is None or not isinstance(loop[1], (int, float)) or loop[1] <= 0:
        return
    unit, length, length_key = loop
    schedulers = list(_schedulers(ctx.cfg, unit))
    late = []
    for path, s, begin, end in schedulers:
        milestones = [m for m in (s.get("milestones", None) or []) if isinstance(m, (int, float))]
        dead = [m for m in milestones if isinstance(end, (int, float)) and begin + m >= end]
        if dead:
            yield Violation(
                message=(f"{path}.milestones {dead} lie at or past this scheduler's end={end} ({unit}s from begin="
                         f"{begin}): mmengine steps it only until end, so those decays never happen"),
                key_path=f"{path}.end", evidence={"milestones": milestones, "begin": begin, "end": end,
                                                   "never_fire": dead, "training": length},
                fix=f"set {path}.end to {length} ({length_key}), or the milestones below {end}")
            return
        last = _last_change(s, begin, end)
        if last is not None and last > 0:
            late.append((last, path, s))
    if not late:
        return
    last, path, s = max(late, key=lambda t: t[0])
    if last < SHORTEST_SHARE * length and not any(_last_change(s, b, e) is None and type_name(s.get("type", None))
                                                  and "MultiStep" not in type_name(s.get("type", None))
                                                  for _, s, b, e in schedulers):
        yield Violation(
            message=(f"the learning rate last changes at {unit} {last:g} ({path}) of {length:g} "
                     f"({length_key}): the last {length - last:g} {unit}s ({(length - last) / length:.0%} of "
                     f"training) run at the final rate; the schedule was not scaled with the training length"),
            key_path=path, evidence={"last_change": last, "training": length, "share": round(last / length, 3)},
            fix=f"scale {path}'s milestones and end to {length:g} {unit}s")

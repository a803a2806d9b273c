from detaudit.rule import Violation, rule
from detaudit.rule.config import walk_dicts
from detaudit.rule.zoo_ranges import OPTIMIZER_PATH, setting_stats, settings, table

FACTOR = 10.0     # how far outside the zoo's range: an order of magnitude on either side
SLACK = 1e-9      # a value on the bound (up to rounding: 1e-6 against 1e-5 / 10) is not outside
MIN_CONFIGS = 5   # a setting fewer zoo configs write for that type has no range to speak of
# test-time score thresholds: raising one drops detections before the metric; lowering one only
# keeps more, so they are judged on the high side, closer
SCORE_KEYS = ("score_thr", "score_threshold", "conf_thr")
SCORE_FACTOR, SCORE_FLOOR = 2.0, 0.1
COCO_MAX_DETS = 100  # COCO's AP counts up to 100 detections per image
# the scales a value is commonly written on by mistake: 0-1 instead of 0-255, a fraction instead of percent
UNITS = ((255.0, "on a 0-1 scale where the zoo's values are on 0-255"), (100.0, "a fraction where the zoo writes percent"),
         (1 / 255.0, "on a 0-255 scale where the zoo's values are on 0-1"), (0.01, "in percent where the zoo writes a fraction"))


def _list_key(full: str) -> str:
    """``model.data_preprocessor.mean.0`` -> ``model.data_preprocessor.mean``: a list is one setting."""
    parts = full.split(".")
    while len(parts) > 1 and parts[-1].isdigit():
        parts.pop()
    return ".".join(parts)


def _at(cfg, key: str):
    node = cfg
    for part in key.split("."):
        try:
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return "?"
    return list(node) if isinstance(node, (list, tuple)) else node


def _unit_hint(v: float, lo: float, hi: float) -> str:
    for scale, what in UNITS:
        if lo <= v * scale <= hi:
            return f"; {v} looks like a value {what} ({v} x {scale:g} = {v * scale:g} is within the zoo's range)"
    return ""


def _pixel_unit(v: float, s: dict) -> bool:
    """A value between the zoo's 0 and its smallest positive value is between two zoo values (a
    learning-rate floor of 1e-6 next to the zoo's 0 and 1e-5): judged only as a pixel value on a
    0-1 scale where the zoo's are on 0-255 (a mean of 0.485 next to YOLOv3's 0 and the others' 103)."""
    return v < 1 <= s["pos_min"] and s["pos_min"] / FACTOR <= v * 255 <= s["max"] * FACTOR


def judge(rel: str, v, s: dict):
    """(side, bound) when ``v`` is far outside the zoo's numbers ``s`` for that setting, else None."""
    if s.get("n", 0) < MIN_CONFIGS or "min" not in s or s.get("ints", True):
        return None  # too few configs, or only integers in the zoo: a count or a size, a design choice
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v == 0 or v == -1:
        return None  # 0 and -1 switch things off; whether that is wanted is other rules' business
    if rel.rsplit(".", 1)[-1] in SCORE_KEYS:
        bound = max(s["max"] * SCORE_FACTOR, SCORE_FLOOR)
        return ("above", bound) if v > bound and v > s["max"] else None
    if v < 0 <= s["min"]:
        return "negative", 0
    if v > 0 >= s["max"]:
        return "positive", 0
    if v > 0 and "pos_min" in s:
        if v > s["max"] * FACTOR * (1 + SLACK):
            return "above", s["max"] * FACTOR
        if v < s["pos_min"] / FACTOR * (1 - SLACK) and (s["min"] > 0 or _pixel_unit(v, s)):
            return "below", s["pos_min"] / FACTOR
    return None


@rule(code="DA823", name="setting-outside-zoo", severity="warning", tier="static", needs=())
def setting_outside_zoo(ctx):
    """A setting of a component lies far outside what every config of mmdet's zoo uses for that component type.

    ## What it does
    Compares every number of the config with the distribution of the same setting of the same
    component type over the 800-odd configs of mmdet 3.3.0's zoo (read by
    scripts/zoo_value_ranges.py: heads, losses, assigners, samplers, coders, anchor generators,
    necks, backbones, the model's ``train_cfg``/``test_cfg`` keyed by the detector type, data
    preprocessors, schedulers, hooks, pipeline transforms). A setting is keyed by its owner, the
    nearest dict with a component ``type``, and its path from there:
    ``model.test_cfg.rcnn.score_thr`` is ``FasterRCNN``'s ``test_cfg.rcnn.score_thr``.
    It reports, at the exact key, with the zoo's smallest and largest value, the configs they
    were read from and a few examples:

    - a value more than 10 times the zoo's largest, or below a tenth of its smallest positive
      value (with a hint when the value is off by 255 or 100: a 0-1 scale against 0-255, a
      fraction against percent); where the zoo itself writes 0 for the setting, a small value
      lies between zoo values and is reported only as a pixel value on a 0-1 scale (below 1,
      times 255 not far from the zoo's range);
    - a negative value where the zoo's are never negative (or the reverse);
    - a test-time score threshold (``score_thr``) above twice the zoo's largest and above 0.1:
      every detection below it is dropped before the metric;
    - a final ``max_per_img`` (``test_cfg.max_per_img``, ``test_cfg.rcnn.max_per_img``) below
      100 under a ``CocoMetric``, where every zoo config of that detector keeps at least 100:
      COCO's AP counts up to 100 detections per image;
    - a normalization ``std`` on a 0-1 scale (all below 1) next to a ``mean`` on 0-255 (one above
      1): every zoo preprocessor writes both on the same scale (caffe's ``std=[1, 1, 1]`` included).

    Only settings at least 5 zoo configs write for that type are judged: below that the zoo's
    range is one or two recipes' choice, not a distribution. Settings the zoo only writes as
    integers (channels, class counts, strides, epochs, batch sizes, intervals) are sizes and counts
    chosen for the data and the budget, and are not judged by range; nor are 0 and -1, which
    switch things off, nor flags (a flag every zoo config sets alike is a convention, not a limit).
    Optimizer settings are DA811's. Every zoo config is inside the table it helped build; compared
    instead with the table of the other 807 (leave one out), none is reported either.

    ## Why is this bad?
    Such a value is almost always a unit or copy mistake that trains or evaluates without an
    error: a dataset mean and std computed on pixels scaled to [0, 1] put in a preprocessor that
    receives 0-255 images makes the inputs hundreds of times too large; a test score threshold
    raised to a display value (0.3) removes most detections before the COCO evaluation and lowers
    the reported mAP; an EMA ``momentum=0.9998`` (the decay, where mmengine takes 1 - decay)
    freezes the averaged model at its first weights.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(data_preprocessor=dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]))
    ```

    ## Fix
    None: ``detaudit --fix`` leaves the value to the user, since the right one depends on what was
    meant (the scale of the data, the threshold wanted for evaluation); the finding gives the zoo's
    range for that component type and the configs to compare with.
    """
    zoo_configs = table()["zoo_configs"]
    reported = set()
    for owner, rel, full, v in settings(ctx.cfg):
        if full.startswith(OPTIMIZER_PATH + "."):
            continue
        key = _list_key(full)
        s = setting_stats(owner, rel)
        if key in reported or s is None:
            continue
        found = judge(rel, v, s)
        if found is None:
            continue
        reported.add(key)
        side, bound = found
        lo = s.get("pos_min", s["min"]) if side == "below" else s["min"]
        lo_cfg = s.get("pos_min_config", s["min_config"]) if side == "below" else s["min_config"]
        if lo == s["max"]:
            zoo = f"{lo} in every one of {s['n']} zoo configs that set it (of {zoo_configs}; e.g. {s['max_config']})"
        else:
            zoo = f"{lo} ({lo_cfg}) to {s['max']} ({s['max_config']}), over {s['n']} of {zoo_configs} zoo configs"
        if side in ("negative", "positive"):
            what = f"is {side}, where every zoo config's {owner}.{rel} is {'not negative' if side == 'negative' else 'not positive'}"
        else:
            what = f"is far {side} what the zoo uses for {owner}.{rel}"
        hint = _unit_hint(v, lo, s["max"]) if side in ("above", "below") else ""
        if rel.rsplit(".", 1)[-1] in SCORE_KEYS:
            hint = "; every detection scoring below it is dropped before the evaluation, which lowers recall and mAP"
        shown = f"{key} = {v}" if key == full else f"{key} = {_at(ctx.cfg, key)}: {v}"
        if key.endswith(".mean") or key.endswith(".std"):
            reported.add(key.rsplit(".", 1)[0] + ".std")  # one finding per preprocessor
        yield Violation(
            message=f"{shown} {what}: {zoo}{hint}",
            key_path=key,
            evidence={"value": v, "component": owner, "setting": rel, "zoo_min": s["min"], "zoo_max": s["max"],
                      "zoo_min_positive": s.get("pos_min"), "zoo_min_config": s["min_config"],
                      "zoo_max_config": s["max_config"], "zoo_configs": s["n"], "zoo_examples": s.get("examples", []),
                      "bound": bound},
            fix=(f"use a value within the zoo's range for {owner}.{rel} ({s['min']} to {s['max']}), on the scale "
                 "the component expects"))
    yield from _scales_apart(ctx.cfg, reported)
    yield from _capped_below_coco(ctx.cfg, reported)


def _numbers(v):
    if not isinstance(v, (list, tuple)) or not v:
        return None
    ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    return [float(x) for x in v] if ok else None


def _scales_apart(cfg, reported):
    """A mean on 0-255 next to a std on 0-1, in any dict that normalizes (a preprocessor, a Normalize)."""
    for path, d in walk_dicts(cfg, ""):
        path = path.lstrip(".")
        mean, std = _numbers(d.get("mean", None)), _numbers(d.get("std", None))
        if mean is None or std is None or f"{path}.std" in reported:
            continue
        if max(mean) > 1 and 0 < max(std) < 1 and min(std) > 0:
            yield Violation(
                message=(f"{path}.std = {list(std)} is on a 0-1 scale while {path}.mean = {list(mean)} is on 0-255: "
                         f"the normalized inputs come out about 255 times too large; every zoo preprocessor writes "
                         f"mean and std on the same scale"),
                key_path=f"{path}.std", evidence={"mean": list(mean), "std": list(std)},
                fix=f"write std on the mean's scale (x 255: {[round(x * 255, 3) for x in std]})")


def _coco_evaluated(cfg) -> bool:
    for name in ("val_evaluator", "test_evaluator"):
        ev = cfg.get(name, None)
        for m in (ev if isinstance(ev, (list, tuple)) else [ev]):
            if hasattr(m, "get") and str(m.get("type", "")).split(".")[-1] == "CocoMetric":
                return True
    return False


def _capped_below_coco(cfg, reported):
    """A final detection cap below COCO's 100 under a CocoMetric: the cut detections lower AP."""
    if not _coco_evaluated(cfg):
        return
    for owner, rel, full, v in settings(cfg):
        if rel not in ("test_cfg.max_per_img", "test_cfg.rcnn.max_per_img") or full in reported:
            continue
        s = setting_stats(owner, rel)
        if s is None or s.get("n", 0) < MIN_CONFIGS or s.get("min", 0) < COCO_MAX_DETS:
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < COCO_MAX_DETS:
            yield Violation(
                message=(f"{full} = {v} keeps fewer detections per image than COCO's AP counts ({COCO_MAX_DETS}); "
                         f"every zoo config of {owner} keeps {s['min']} to {s['max']} ({s['n']} configs, e.g. "
                         f"{s['min_config']}): the cut detections lower the reported mAP"),
                key_path=full, evidence={"value": v, "component": owner, "setting": rel, "zoo_min": s["min"],
                                         "zoo_max": s["max"], "zoo_configs": s["n"], "coco_max_dets": COCO_MAX_DETS},
                fix=f"keep max_per_img at {COCO_MAX_DETS} or more when evaluating with CocoMetric")

from detaudit.rule import Violation, rule
from detaudit.rule.training_passes import ANY, SCRATCH, augmentation, detector_type, training_passes, zoo_reference
from detaudit.rule.training_passes import table as passes_table
from detaudit.rule.zoo_ranges import OPTIMIZER_PATH, setting_stats, settings, table

from ._pretrained import starts_from_random

FACTOR = 10.0     # how far outside the zoo's range: an order of magnitude on either side
PASSES_FACTOR = 2.0  # training length: more than twice the zoo's longest for that detector and augmentation
SCRATCH_FACTOR = 0.5  # from random weights: under half the zoo's shortest from-scratch recipe of that detector
SLACK = 1e-9      # a value on the bound (up to rounding: 1e-6 against 1e-5 / 10) is not outside
MIN_CONFIGS = 5   # a setting fewer zoo configs write for that type has no range to speak of
# test-time score thresholds: raising one drops detections before the metric; lowering one only
# keeps more, so they are judged on the high side, closer
SCORE_KEYS = ("score_thr", "score_threshold", "conf_thr")
SCORE_FACTOR, SCORE_FLOOR = 2.0, 0.1
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


@rule(code="DA823", name="setting-outside-zoo", severity="warning", tier="static",
      needs=("key_history", "pretrained_sources"))
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
    - test-time score thresholds and detection caps are DA829's, normalization statistics on the
      wrong scale DA830's: each mistake is reported once, by the rule that says most about it.

    Only settings at least 5 zoo configs write for that type are judged: below that the zoo's
    range is one or two recipes' choice, not a distribution. Settings the zoo only writes as
    integers (channels, class counts, strides, epochs, batch sizes, intervals) are sizes and counts
    chosen for the data and the budget, and are not judged by range; nor are 0 and -1, which
    switch things off, nor flags (a flag every zoo config sets alike is a convention, not a limit).
    Optimizer settings are DA811's. Every zoo config is inside the table it helped build; compared
    instead with the table of the other 807 (leave one out), none is reported either.

    The length of an epoch-based training is judged as the number of passes over the training
    data: ``train_cfg.max_epochs`` times the ``times`` of every ``RepeatDataset`` wrapping the
    training set (nested ones multiply; ``ClassBalancedDataset``, ``MultiImageMixDataset`` and
    ``ConcatDataset`` do not repeat every image). The zoo's figures (scripts/zoo_training_passes.py)
    depend on the augmentation: its configs that only resize and flip train 3 to 73 passes (12, 24
    or 36 for most), its long recipes (200-epoch large-scale jitter, 300-epoch mosaic, SSD's 120 to
    600 passes of expand-and-crop, DETR's 500) all augment more. It reports, at
    ``train_cfg.max_epochs``, a training more than twice as long as the longest zoo config with
    the same kind of augmentation; when a ``RepeatDataset`` wraps the set (the passes are not what
    ``max_epochs`` reads), compared with the zoo's configs of the same detector type and
    augmentation (RetinaNet resizing and flipping: at most 36 passes, the "3x" recipes of 12
    epochs over a ``RepeatDataset`` of 3), and naming the wrapper's ``times``. Whatever the zoo's
    figures, a ``max_epochs`` rewritten to exactly the passes the base trained (its ``max_epochs``
    times the ``RepeatDataset``'s ``times``) while the base's repeat still applies is reported:
    the schedule was written in passes over a set that is still repeated. A config that trains
    from random weights (no ``load_from``, pretrained init or other source: what DA202 reports)
    is compared with the zoo's configs of its detector type that do so too, and reported below
    half the shortest of them (Faster R-CNN: 73 passes, the GroupNorm 6x recipe; a 1x schedule
    kept for a from-scratch Faster R-CNN trains 12). Iteration-based loops are not judged.

    ## Why is this bad?
    Such a value is almost always a unit or copy mistake that trains or evaluates without an
    error: an EMA ``momentum=0.9998`` (the decay, where mmengine takes 1 - decay) freezes the
    averaged model at its first weights; an NMS ``iou_threshold=50`` written in percent keeps
    every box; a loss weight a hundred times the zoo's drowns the other losses. A "3x" schedule
    already repeats its dataset 3 times over 12 epochs; setting its ``max_epochs`` to 36 trains
    108 passes, three times the recipe, with its learning-rate steps where the recipe has none.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.9998)]
    ```
    ```python
    _base_ = 'mmdet::retinanet/retinanet_r50-caffe_fpn_ms-3x_coco.py'  # RepeatDataset(times=3)
    train_cfg = dict(max_epochs=36)  # 108 passes
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002)]
    ```
    ```python
    _base_ = 'mmdet::retinanet/retinanet_r50-caffe_fpn_ms-3x_coco.py'  # 12 epochs: 36 passes
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
        if key in reported or s is None or _owned_elsewhere(rel):
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
        shown = f"{key} = {v}" if key == full else f"{key} = {_at(ctx.cfg, key)}: {v}"
        yield Violation(
            message=f"{shown} {what}: {zoo}{hint}",
            key_path=key,
            evidence={"value": v, "component": owner, "setting": rel, "zoo_min": s["min"], "zoo_max": s["max"],
                      "zoo_min_positive": s.get("pos_min"), "zoo_min_config": s["min_config"],
                      "zoo_max_config": s["max_config"], "zoo_configs": s["n"], "zoo_examples": s.get("examples", []),
                      "bound": bound},
            fix=(f"use a value within the zoo's range for {owner}.{rel} ({s['min']} to {s['max']}), on the scale "
                 "the component expects"))
    yield from _training_length(ctx.cfg, _inherited_epochs(ctx.key_history),
                                lambda: starts_from_random(ctx.cfg, ctx.pretrained_sources))


def _n(v: float):
    return int(v) if float(v).is_integer() else round(v, 2)


def _inherited_epochs(history) -> int | None:
    """The ``train_cfg.max_epochs`` a base wrote before the value the config ends with, if one did."""
    items = history.of("train_cfg.max_epochs")
    final = next((a for a in reversed(items) if a.status == "set"), None)
    earlier = [a for a in items if a is not final and a.literal and isinstance(a.value, int)
               and (final is None or a.file != final.file)]
    return earlier[-1].value if earlier and final is not None else None


def _training_length(cfg, inherited: int | None = None, from_random=lambda: False):
    """Passes over the training data (``max_epochs`` times the ``RepeatDataset`` times) far above
    the zoo's longest for that detector type and augmentation, or a ``max_epochs`` rewritten to
    the passes its base trained while the base's ``RepeatDataset`` still repeats the set."""
    got = training_passes(cfg)
    if got is None:
        return
    product = got.passes / got.max_epochs if got.max_epochs else 1
    scratch = passes_table()["detectors"].get(detector_type(cfg) or "", {}).get(SCRATCH)
    if scratch and got.passes < scratch["min"] * SCRATCH_FACTOR and from_random():
        yield Violation(
            message=(f"train_cfg.max_epochs = {_n(got.max_epochs)} trains {_n(got.passes)} passes over the data from "
                     f"random weights (no load_from, no pretrained init): the zoo's {scratch['n']} "
                     f"{detector_type(cfg)} config(s) that train from random weights train at least "
                     f"{_n(scratch['min'])} passes ({scratch['min_config']}), a schedule for a pretrained backbone is "
                     "far too short to converge"),
            key_path="train_cfg.max_epochs",
            evidence={"passes": got.passes, "max_epochs": got.max_epochs, "zoo_scratch_min": scratch["min"],
                      "zoo_scratch_config": scratch["min_config"], "zoo_scratch_configs": scratch["n"]},
            fix=("give the backbone its pretrained init (or load_from a detector checkpoint), or train from scratch "
                 "with a from-scratch recipe: several times longer, GroupNorm or SyncBN"))
        return
    if got.repeats and product > 1 and inherited and got.max_epochs == inherited * product != inherited:
        times = " x ".join(f"{key} = {_n(t)}" for key, t in got.repeats)
        yield Violation(
            message=(f"train_cfg.max_epochs = {_n(got.max_epochs)} is the {_n(got.max_epochs)} passes the base's "
                     f"{inherited} epochs train over its RepeatDataset ({times}), but the RepeatDataset still repeats "
                     f"the set: training runs {_n(got.passes)} passes, {_n(product)} times the recipe, with the "
                     "learning-rate steps moved with it"),
            key_path="train_cfg.max_epochs",
            evidence={"passes": got.passes, "max_epochs": got.max_epochs, "base_max_epochs": inherited,
                      "repeats": [list(r) for r in got.repeats]},
            fix=(f"keep max_epochs = {inherited} (each epoch of the RepeatDataset is already {_n(product)} passes), "
                 "with milestones in those epochs, or drop the RepeatDataset if max_epochs counts passes"))
        return
    aug = augmentation(cfg)
    ref = zoo_reference(detector_type(cfg), "strong" if aug else "light", bool(got.repeats))
    if ref is None:
        return
    kind, group, s = ref
    if got.passes <= s["max"] * PASSES_FACTOR:
        return
    who = "zoo config" if kind == ANY else f"zoo {kind} config"
    how = {"light": "that only resizes and flips", "strong": "with augmentation beyond resizing and flipping",
           ANY: "(whatever its augmentation)"}[group]
    zoo = (f"{_n(s['max'])} passes ({', '.join(s['max_configs'][:2])}); the {s['n']} such configs train "
           f"{', '.join(s['values'])} passes")
    if got.repeats:
        times = " x ".join(f"{key} = {_n(t)}" for key, t in got.repeats)
        product = got.passes / got.max_epochs
        fits = max(1, int(s["max"] // product))
        message = (f"train_cfg.max_epochs = {_n(got.max_epochs)} over a RepeatDataset ({times}) trains "
                   f"{_n(got.passes)} passes over the data, {got.passes / s['max']:.1f} times the most any "
                   f"{who} {how} trains: {zoo}. Each epoch of a RepeatDataset is already {_n(product)} passes")
        fix = (f"set max_epochs to about {fits} ({_n(fits * product)} passes), scaling the lr schedule with it, "
               "or drop the RepeatDataset if max_epochs counts passes")
    else:
        message = (f"train_cfg.max_epochs = {_n(got.max_epochs)} trains {_n(got.passes)} passes over the data, "
                   f"{got.passes / s['max']:.1f} times the most any {who} {how} trains: {zoo}")
        fix = "check max_epochs: the zoo's recipes train far shorter with this augmentation"
    yield Violation(
        message=message, key_path="train_cfg.max_epochs",
        evidence={"passes": got.passes, "max_epochs": got.max_epochs, "repeats": [list(r) for r in got.repeats],
                  "detector": kind, "augmentation": group, "strong_transforms": aug[:8], "zoo_max": s["max"],
                  "zoo_max_configs": s["max_configs"], "zoo_configs": s["n"], "zoo_values": s["values"]},
        fix=fix)


def _owned_elsewhere(rel: str) -> bool:
    """Settings whose mistakes another rule reports with more to say (one finding per mistake): a
    test-time score threshold or detection cap under a ranking metric (DA829), normalization
    statistics on the wrong scale (DA830)."""
    last = rel.rsplit(".", 1)[-1]
    return last in SCORE_KEYS or last == "max_per_img" or last in ("mean", "std")

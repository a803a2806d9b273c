from detaudit.rule import Violation, rule
from detaudit.rule.zoo_ranges import OPTIMIZERS, ZOO_CONFIGS

# how far outside the zoo's range a value must be to be reported, (above its largest, below its smallest):
# a factor, not a percentile, because the zoo's recipes already span batch sizes from 8 to 256; SGD's usual
# 0.01-0.02 kept under Adam is 2.5-5 times the zoo's largest Adam/AdamW lr
FACTOR = {"lr": (2.0, 3.0), "weight_decay": (10.0, 10.0)}
MIN_CONFIGS = 5   # optimizer types used by fewer zoo configs have no range to speak of
# optimizers whose settings live on one scale: a type the zoo rarely uses is read with its family
FAMILIES = (("Adam", "AdamW", "NAdam", "RAdam", "Adamax", "AdamP", "Lamb"), ("SGD", "ASGD"))


def _range(kind: str, key: str):
    """(min, min config, max, max config, configs) of ``key`` over ``kind``, or over its family
    when the zoo uses ``kind`` itself too little; None when there is no range to speak of."""
    own = OPTIMIZERS.get(kind, {}).get(key)
    if own and own.get("n", 0) >= MIN_CONFIGS:
        return own, kind
    family = next((f for f in FAMILIES if kind in f), ())
    rs = [OPTIMIZERS[k][key] for k in family if key in OPTIMIZERS.get(k, {})]
    if sum(r["n"] for r in rs) < MIN_CONFIGS:
        return None
    lo = min(rs, key=lambda r: r["min"])
    hi = max(rs, key=lambda r: r["max"])
    return ({"min": lo["min"], "min_config": lo["min_config"], "max": hi["max"], "max_config": hi["max_config"],
             "n": sum(r["n"] for r in rs)}, "/".join(k for k in family if k in OPTIMIZERS))


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@rule(code="DA811", name="optimizer-setting-outside-zoo", severity="warning", tier="static", needs=())
def optimizer_setting_outside_zoo(ctx):
    """An optimizer setting lies far outside what every config of mmdet's zoo uses with that optimizer.

    ## What it does
    Compares ``optim_wrapper.optimizer``'s ``lr`` and ``weight_decay`` with the range
    the 823 configs of mmdet 3.3.0's zoo use with the same optimizer type (read by
    scripts/zoo_value_ranges.py, with the config each extreme comes from). A learning rate more than
    twice the zoo's largest (or below a third of its smallest), a weight decay outside a factor of
    10, is reported with the numbers and the configs they were read from. An optimizer type fewer
    than 5 zoo configs use is compared with its family (Adam with AdamW...), or not at all.

    ## Why is this bad?
    Switching ``SGD`` to ``Adam`` and keeping SGD's ``lr=0.02`` makes the loss diverge within the
    first iterations; nothing in the config says that 0.02 is an SGD value. The zoo's Adam and AdamW
    recipes use 1e-4 to 4e-3.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=0.02))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.05))
    ```
    """
    ow = ctx.cfg.get("optim_wrapper", None)
    opt = ow.get("optimizer", None) if hasattr(ow, "get") else None
    if not hasattr(opt, "get") or not isinstance(opt.get("type", None), str):
        return
    kind = opt["type"].split(".")[-1]
    for key, (above, below) in FACTOR.items():
        v, found = _num(opt.get(key, None)), _range(kind, key)
        if v is None or found is None:
            continue
        r, over = found
        hi, lo = r["max"] * above, r["min"] / below
        if lo <= v <= hi or (v == 0 and key == "weight_decay"):
            continue
        side = "above" if v > hi else "below"
        yield Violation(
            message=(f"optim_wrapper.optimizer.{key} = {v} with {kind} is far {side} what the zoo uses with {over}: "
                     f"{r['min']} ({r['min_config']}) to {r['max']} ({r['max_config']}), over {r['n']} of "
                     f"{ZOO_CONFIGS} zoo configs"),
            key_path=f"optim_wrapper.optimizer.{key}",
            evidence={"value": v, "optimizer": kind, "compared_with": over, "zoo_min": r["min"], "zoo_max": r["max"],
                      "zoo_min_config": r["min_config"], "zoo_max_config": r["max_config"], "zoo_configs": r["n"]},
            fix=(f"use a {key} within the zoo's range for {kind} (scaled to your batch size), or the optimizer "
                 "the value was written for"))

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, number

# schedulers that decay each group's lr toward one absolute value shared by every group
FLOORED = {"CosineAnnealingLR": "eta_min", "CosineRestartLR": "eta_min", "PolyLR": "eta_min",
           "CosineAnnealingParamScheduler": "eta_min", "CosineRestartParamScheduler": "eta_min",
           "PolyParamScheduler": "eta_min"}
RATIO = {"CosineAnnealingLR", "CosineRestartLR", "CosineAnnealingParamScheduler", "CosineRestartParamScheduler"}


def _groups(cfg) -> list[tuple[str, float]]:
    """(key, starting lr) of the optimizer's lr and of each custom_keys group that scales it."""
    wrapper = cfg.get("optim_wrapper", None)
    optimizer = wrapper.get("optimizer", None) if is_mapping(wrapper) else None
    base = number(optimizer.get("lr", None)) if is_mapping(optimizer) else None
    if base is None or base <= 0:
        return []
    groups = [("optim_wrapper.optimizer.lr", float(base))]
    paramwise = wrapper.get("paramwise_cfg", None)
    custom = paramwise.get("custom_keys", None) if is_mapping(paramwise) else None
    for name, opts in (custom.items() if is_mapping(custom) else ()):
        mult = number(opts.get("lr_mult", None)) if is_mapping(opts) else None
        if mult is not None and mult > 0:  # lr_mult=0 is a freeze: DA101's
            groups.append((f"optim_wrapper.paramwise_cfg.custom_keys.{name}.lr_mult", float(base) * mult))
    return groups


@rule(code="DA877", name="schedule-floor-above-group-lr", severity="warning", tier="static")
def schedule_floor_above_group_lr(ctx):
    """A scheduler's absolute ``eta_min`` is above the learning rate a parameter group starts from.

    ## What it does
    Reads each ``CosineAnnealingLR``, ``CosineRestartLR`` and ``PolyLR`` of ``param_scheduler``
    that sets ``eta_min``, and the learning rate each parameter group starts from: the optimizer's
    ``lr``, and ``lr * lr_mult`` for each ``paramwise_cfg.custom_keys`` group. Reports an ``eta_min``
    above any of them, with the groups it is above.

    ## Why is this bad?
    ``eta_min`` is one absolute value for every group: each group's lr moves from its own start
    to it. A group that starts below it (a backbone at ``lr_mult=0.1``) does not decay, its lr
    climbs to ``eta_min`` over the schedule, several times what was meant for the pretrained
    weights. The ratio that was intended is ``eta_min_ratio``, which mmengine applies to each
    group's own lr. Nothing fails or warns.

    ## Example
    ```python
    optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4),
                         paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=50, eta_min=5e-5, by_epoch=True)]
    ```

    ## Use instead
    ```python
    param_scheduler = [dict(type='CosineAnnealingLR', T_max=50, eta_min_ratio=0.5, by_epoch=True)]
    ```

    ## References
    - mmengine ``CosineAnnealingParamScheduler`` (eta_min, eta_min_ratio), ``PolyParamScheduler``
    """
    groups = None
    schedulers = ctx.cfg.get("param_scheduler", None)
    listed = schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]
    for i, s in enumerate(listed):
        kind = node_type(s) if is_mapping(s) else None
        if kind not in FLOORED or s.get("param_name", "lr") != "lr":
            continue
        floor = number(s.get(FLOORED[kind], None))
        if floor is None or floor <= 0:
            continue
        groups = _groups(ctx.cfg) if groups is None else groups
        below = [(key, lr) for key, lr in groups if lr < floor * (1 - 1e-9)]
        if not below:
            continue
        key = f"param_scheduler.{i}.eta_min" if isinstance(schedulers, (list, tuple)) else "param_scheduler.eta_min"
        base = groups[0][1]
        shown = ", ".join(f"{k} ({lr:g})" for k, lr in below)
        fix = (f"eta_min_ratio={floor / base:g} (each group decays to that share of its own lr)" if kind in RATIO
               else f"an eta_min below {min(lr for _, lr in groups):g}, the smallest group's lr")
        yield Violation(
            message=(f"{key} = {floor:g} is above the lr these groups start from: {shown}; eta_min is one "
                     f"absolute value for every group, so their lr climbs to {floor:g} over the schedule instead "
                     "of decaying"),
            key_path=key, evidence={"eta_min": floor, "scheduler": kind,
                                    "groups_below": [{"key": k, "lr": lr} for k, lr in below]},
            fix=f"{key.rsplit('.', 1)[0]}: {fix}")

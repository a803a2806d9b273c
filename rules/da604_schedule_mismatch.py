from detaudit.rule import Violation, rule

from detaudit.rule.config import is_mapping, train_loop, type_name
from detaudit.rule.milestones import from_begin, off_counter_milestones, on_counter

INFINITE = 1e8  # mmengine's schedulers default end to a huge number: "until training stops"
# Schedulers whose shape is laid out over [begin, end): stopping early truncates them.
SHAPED = ("CosineAnnealing", "Poly", "OneCycle", "CosineRestart", "Linear")


def _loop(cfg):
    """(unit, length, key path) of the training loop: ('epoch', 12, 'train_cfg.max_epochs')."""
    loop = train_loop(cfg)
    if loop is None:
        return None
    length = loop[1]
    if not isinstance(length, (int, float)) or isinstance(length, bool) or length <= 0:
        return None
    return loop


def _variable_hint(cfg, max_name: str, length) -> str:
    """A top-level ``max_iters = 90000`` next to ``train_cfg.max_iters == 270000``: in a
    ``_base_`` config the base's ``train_cfg`` was built from the base's variable, and
    redefining the variable in the child does not change it."""
    value = cfg.get(max_name, None)
    if _num(value) is not None and value != length:
        return (f" (the config's top-level {max_name} = {value} does not reach train_cfg.{max_name}: "
                f"the base built train_cfg from its own {max_name}; set train_cfg=dict({max_name}={value}))")
    return ""


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _is_warmup(kind: str, s) -> bool:
    """Warmups ramp the lr up to its base value at the start: short by design."""
    if "Warmup" in kind:
        return True
    if kind.startswith("Linear"):
        start, end = _num(s.get("start_factor", 1.0 / 3)), _num(s.get("end_factor", 1.0))
        return start is not None and end is not None and start < end
    if kind.startswith("Constant"):
        factor = _num(s.get("factor", 1.0 / 3))
        return factor is not None and factor < 1 and (_num(s.get("begin", 0)) or 0) == 0
    return False


@rule(code="DA604", name="schedule-mismatch", severity="warning", tier="static")
def schedule_mismatch(ctx):
    """The learning-rate schedule does not fit the training length, or a milestone never fires.

    ## What it does
    Compares every ``param_scheduler`` entry counted in the training loop's unit
    (``by_epoch=True`` with ``train_cfg.max_epochs``, ``by_epoch=False`` with
    ``max_iters``) with the length of training. Warmups (``LinearLR`` ramping up,
    ``ConstantLR`` below 1, ``*Warmup*``) are short by design and only checked for
    starting at all. It reports a scheduler that begins after training stops, a
    ``MultiStepLR`` milestone that is never reached, a cosine/poly/linear/one-cycle
    schedule whose ``end`` or ``begin + T_max`` lies beyond the last epoch (truncated),
    and a main schedule that ends before training does (the last epochs run at the final
    learning rate — or, for a cosine with only ``T_max``, with the lr climbing back up).
    Schedulers counted in another unit than the loop (iteration warmups in an epoch
    loop) are not compared. mmengine counts a ``MultiStep*`` scheduler's milestones from its
    ``begin`` (milestone ``m`` decays at ``begin + m``), and so does this rule.

    Whatever the loop, it also reports ``MultiStepLR``/``MultiStepMomentum``/
    ``MultiStepParamScheduler`` milestones the scheduler's integer step counter never equals:
    negative ones, and ones that are not whole numbers (``milestones=[1.6, 1.9]`` with
    ``by_epoch=True``). With ``convert_to_iter_based=True`` mmengine multiplies the milestones
    by the number of iterations per epoch, and a fractional one decays only if that product is
    a whole number (1.5 needs an even epoch length): reported too, with the epoch lengths that
    work.

    ## Why is this bad?
    Changing ``max_epochs`` without the scheduler is the classic copy-paste error: a 1x
    schedule (decay at 8 and 11, ``end=12``) trained for 24 epochs spends half the run at
    1/100 of the learning rate; a cosine over 24 epochs stopped at 12 never anneals.
    Milestones written as fractions of a short run (``[1.6, 1.9]`` for two epochs), or as
    epochs of the run under a ``begin`` after a warmup, silently leave the learning rate
    undecayed. Nothing fails; the result is just worse.

    ## Example
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24)
    param_scheduler = [dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11])]
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=24)
    param_scheduler = [dict(type='MultiStepLR', begin=0, end=24, by_epoch=True, milestones=[16, 22])]
    ```
    """
    cfg = ctx.cfg
    schedulers = cfg.get("param_scheduler", None)
    if schedulers is None:
        return
    entries = [(f"param_scheduler.{i}", s) for i, s in enumerate(schedulers)] \
        if isinstance(schedulers, (list, tuple)) else [("param_scheduler", schedulers)]
    for key, s in entries:
        if is_mapping(s) and (type_name(s.get("type", None)) or "").startswith("MultiStep"):
            yield from off_counter_milestones(key, s)
    loop = _loop(cfg)
    if loop is None:
        return
    unit, length, loop_key = loop
    max_name = loop_key.rsplit(".", 1)[-1]
    hint = _variable_hint(cfg, max_name, length)
    main_ends = []        # (end, key path, kind) of main schedulers with a finite end
    open_ended = False    # a main scheduler that runs until training stops
    for key, s in entries:
        if not is_mapping(s):
            continue
        kind = type_name(s.get("type", None)) or ""
        s_unit = "epoch" if s.get("by_epoch", True) else "iter"
        if s_unit != unit:
            continue
        begin = _num(s.get("begin", 0)) or 0
        end = _num(s.get("end", None))
        end = None if end is None or end >= INFINITE else end
        ev = {"scheduler": kind, "begin": begin, "end": end, "unit": unit, max_name: length}
        if begin >= length:
            yield Violation(
                message=(f"{kind} begins at {unit} {begin} but training stops at {max_name}={length}: "
                         f"it never runs{hint}"),
                key_path=f"{key}.begin" if "begin" in s else key, evidence=ev,
                fix=f"move begin below {length}, or raise {max_name}")
            continue
        if _is_warmup(kind, s):
            if end is not None and end > length:  # the whole training is warmup
                iterations = unit == "epoch" and "by_epoch" not in s  # a warmup longer than the run: iterations meant
                yield Violation(
                    message=(f"{kind} warms up until {unit} {end} but training stops at {max_name}={length}: the lr "
                             "never leaves the warmup" + (f" ({end} looks like iterations, and by_epoch defaults to "
                                                          "True: it is counted in epochs)" if iterations else "")),
                    key_path=f"{key}.by_epoch" if iterations else f"{key}.end", evidence=ev,
                    fix="by_epoch=False (the warmup is counted in iterations)" if iterations
                    else f"end it well before {length}")
            continue
        if kind.startswith("MultiStep"):
            # the decays fall at begin + milestone: mmengine counts milestones from begin
            milestones = on_counter(s)
            past_end = [m for m in milestones if end is not None and end <= begin + m < length]
            late = [m for m in milestones if begin + m >= length]
            at = from_begin(begin, past_end or late, unit)
            if past_end:
                # mmengine steps a scheduler only inside [begin, end): these decays never happen
                yield Violation(
                    message=(f"{kind} milestones {past_end}{at} lie at or after its end={end}, where the scheduler "
                             f"stops stepping: those decays never happen, although training runs to "
                             f"{max_name}={length}{hint}"),
                    key_path=f"{key}.milestones", evidence=dict(ev, milestones=list(milestones)),
                    fix=(f"set end={length} (the milestones count from the start of training)" if not begin else
                         f"count the milestones from begin={begin}, or set begin=0"))
                continue
            if late:
                yield Violation(
                    message=(f"{kind} milestones {late}{at} are never reached: training stops at "
                             f"{max_name}={length}{hint}"),
                    key_path=f"{key}.milestones", evidence=dict(ev, milestones=list(milestones)),
                    fix=(f"scale the milestones to {max_name}={length}" if not begin else
                         f"count the milestones from begin={begin} (milestone m decays at {unit} {begin} + m)"))
        t_max = _num(s.get("T_max", None))
        if kind.startswith("CosineAnnealing") and t_max is not None and begin + t_max > length:
            yield Violation(
                message=(f"{kind} has T_max={t_max} from {unit} {begin}, reaching {begin + t_max}, but training stops "
                         f"at {max_name}={length}: the cosine never reaches eta_min{hint}"),
                key_path=f"{key}.T_max", evidence=dict(ev, T_max=t_max),
                fix=f"set T_max={length - begin} (or end={length} without T_max)")
            main_ends.append((begin + t_max, key, kind))
            continue
        if end is not None and end > length and kind.startswith(SHAPED):
            yield Violation(
                message=(f"{kind} is laid out until {unit} {end} but training stops at {max_name}={length}: "
                         f"the schedule is cut off {end - length} {unit}(s) before it ends{hint}"),
                key_path=f"{key}.end", evidence=ev, fix=f"set end={length}")
            main_ends.append((end, key, kind))
            continue
        if end is None and kind.startswith("CosineAnnealing") and t_max is not None:
            end = begin + t_max  # runs on past T_max: the cosine turns back up
        if end is None:
            open_ended = True
        else:
            main_ends.append((end, key, kind))
    if open_ended or not main_ends:
        return
    last, key, kind = max(main_ends)
    if last < length:
        entry = dict(entries).get(key) or {}
        milestones = on_counter(entry) if kind.startswith("MultiStep") else []
        # a step schedule is laid out by its milestones as much as by its end: both are the key to edit
        laid = f", milestones {list(milestones)}" if milestones else ""
        yield Violation(
            message=(f"the learning-rate schedule ends at {unit} {last} ({kind}{laid}) but training runs to "
                     f"{max_name}={length}: the last {length - last} {unit}(s) are outside the schedule{hint}"),
            key_path=key if milestones or "end" not in entry else f"{key}.end",
            evidence={"schedule_end": last, max_name: length, "unit": unit, "scheduler": kind,
                      **({"milestones": list(milestones)} if milestones else {})},
            fix=(f"scale the milestones and end to {max_name}={length}" if milestones else
                 f"extend the schedule to {length} (end, T_max, milestones) or set {max_name}={last}"))

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type

# mmengine's Runner.__init__ takes each stage's three settings all set or all None.
TRIPLES = (
    ("train", ("train_dataloader", "train_cfg", "optim_wrapper")),
    ("val", ("val_dataloader", "val_cfg", "val_evaluator")),
    ("test", ("test_dataloader", "test_cfg", "test_evaluator")),
)
LOADERS = tuple(keys[0] for _, keys in TRIPLES)
# The training loops mmengine builds itself, with the length each requires.
LOOP_LENGTH = {"EpochBasedTrainLoop": "max_epochs", "IterBasedTrainLoop": "max_iters"}
STAGE_NAME = {"train": "training", "val": "validation", "test": "testing"}


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _shown(v) -> str:
    text = repr(v) if not is_mapping(v) else f"dict({node_type(v) or '...'})" if node_type(v) else "dict(...)"
    return text if len(text) <= 60 else text[:57] + "..."


@rule(code="DA836", name="runner-refuses-config", severity="error", tier="static", needs=("static_issues",))
def runner_refuses_config(ctx):
    """mmengine's Runner refuses the config before the first iteration: a stage's settings are half set, or the loop does not build.

    ## What it does
    Reads the settings ``Runner.from_cfg`` and ``Runner.train`` check before the first
    iteration, and reports those mmengine rejects:

    - ``train_dataloader``, ``train_cfg`` and ``optim_wrapper`` not all set or all None
      (likewise ``val_dataloader``/``val_cfg``/``val_evaluator`` and
      ``test_dataloader``/``test_cfg``/``test_evaluator``): ``Runner.__init__`` raises
      ``ValueError``. One finding covers every half-set stage (they usually share one cause,
      such as a schedule base that is not inherited), at the first key missing;
    - ``param_scheduler`` set while no ``optim_wrapper`` is (``ValueError`` in ``__init__``);
    - ``train_cfg`` with neither ``type`` nor ``by_epoch``: ``Runner.build_train_loop`` fails
      with ``KeyError: 'by_epoch'``;
    - an ``EpochBasedTrainLoop``/``IterBasedTrainLoop`` without its ``max_epochs``/``max_iters``,
      or with one that is not a whole number (the loop asserts ``int(max_epochs) == max_epochs``);
    - ``train_cfg.dynamic_intervals`` that is not a list of tuples (``[[280, 1]]``): mmengine's
      ``calc_dynamic_intervals`` asserts a list of ``(milestone, interval)`` tuples;
    - ``auto_scale_lr.enable=True`` without ``base_batch_size`` (an assertion in
      ``Runner.scale_lr``);
    - ``paramwise_cfg`` decay multipliers (``norm_decay_mult``, ``bias_decay_mult``,
      ``dwconv_decay_mult``, a custom key's ``decay_mult``) while the optimizer dict has no
      ``weight_decay``: ``DefaultOptimWrapperConstructor`` raises ``base_wd should not be None``.

    A config that sets no dataloader at all is taken for a fragment meant to be inherited
    (such as qdtrack's ``qdtrack_faster-rcnn_r50_fpn_4e_base.py``) and not checked.
    A ``val_begin`` or a sampler that does not fit the loop is DA806's; keys a loop does not
    take (``by_epoch`` next to a ``type``, which ``build_train_loop`` refuses too) are DA831's.

    ## Why is this bad?
    The run stops with a traceback before the first iteration, after the model, the datasets
    and the hooks were built (on a cluster, after the job waited in the queue). The
    half-set triple is the usual way to get there: a custom or semi-supervised config that
    sets a ``train_dataloader`` but inherits no ``train_cfg``/``optim_wrapper``, or one that
    switches validation off with ``val_cfg = None`` but keeps the inherited
    ``val_dataloader`` and ``val_evaluator``.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    val_cfg = None  # no validation during training
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    val_cfg = None
    val_dataloader = None
    val_evaluator = None
    ```

    ## References
    - mmengine ``Runner.__init__``, ``Runner.build_train_loop``, ``Runner.scale_lr``,
      ``EpochBasedTrainLoop``, ``IterBasedTrainLoop`` and ``runner.utils.calc_dynamic_intervals``
    """
    if ctx.no_exec and ctx.static_issues:
        return  # a base or value the static reader could not read may hold the keys that look missing (DA094)
    cfg = ctx.cfg
    if is_mapping(cfg.get("optim_wrapper", None)):
        yield from _decay_without_weight_decay(cfg["optim_wrapper"])  # whatever inherits this fails to build it
    if all(cfg.get(k, None) is None for k in LOADERS):
        return  # no data at all: a fragment to inherit from (qdtrack's *_base.py), not a run
    half = list(_half_set(cfg))
    if half:
        yield _half_set_violation(half)
    scheduler, wrapper = cfg.get("param_scheduler", None), cfg.get("optim_wrapper", None)
    if scheduler is not None and wrapper is None and cfg.get("train_dataloader", None) is None \
            and cfg.get("train_cfg", None) is None:
        yield Violation(
            message=("param_scheduler is set but optim_wrapper is None: mmengine's Runner raises ValueError "
                     "(param_scheduler should be None when optim_wrapper is None)"),
            key_path="param_scheduler", evidence={"param_scheduler": _shown(scheduler)},
            fix="set param_scheduler = None in a config that does not train")
    tc = cfg.get("train_cfg", None)
    if is_mapping(tc) and cfg.get("train_dataloader", None) is not None and wrapper is not None:
        yield from _train_loop_checks(tc)
    scale = cfg.get("auto_scale_lr", None)
    if is_mapping(scale) and scale.get("enable", False) and "base_batch_size" not in scale \
            and tc is not None:
        yield Violation(
            message=("auto_scale_lr.enable=True without base_batch_size: Runner.scale_lr asserts it "
                     "('Lack of `base_batch_size` in `auto_scale_lr`') before training starts"),
            key_path="auto_scale_lr.base_batch_size", evidence={"auto_scale_lr": dict(scale)},
            fix="set auto_scale_lr.base_batch_size to the total batch size the learning rate was set for "
                "(GPUs x images per GPU, e.g. 16 for mmdet's 8xb2 recipes)")


DECAY_MULTS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")


def _decay_without_weight_decay(wrapper):
    """Decay multipliers with no ``weight_decay`` to multiply: DefaultOptimWrapperConstructor reads
    the base decay from the optimizer dict (not the optimizer class's default) and refuses."""
    opt, pw = wrapper.get("optimizer", None), wrapper.get("paramwise_cfg", None)
    if not (is_mapping(opt) and is_mapping(pw)) or opt.get("weight_decay", None) is not None \
            or wrapper.get("constructor", None) not in (None, "DefaultOptimWrapperConstructor"):
        return
    keys = [k for k in DECAY_MULTS if k in pw]
    custom = pw.get("custom_keys", None)
    if is_mapping(custom):
        keys += [f"custom_keys.{name}.decay_mult" for name, v in custom.items() if is_mapping(v) and "decay_mult" in v]
    if keys:
        yield Violation(
            message=(f"optim_wrapper.paramwise_cfg sets {', '.join(keys)} but optim_wrapper.optimizer "
                     f"({_shown(opt.get('type', None))}) has no weight_decay: DefaultOptimWrapperConstructor raises "
                     "ValueError('base_wd should not be None') when it builds the optimizer (it reads the decay from "
                     "the optimizer dict, not from the optimizer class's default)"),
            key_path="optim_wrapper.optimizer.weight_decay", evidence={"decay_mults": keys},
            fix="give optim_wrapper.optimizer a weight_decay (0.05 is the zoo's usual AdamW value), or drop the "
                "decay multipliers")


def _train_loop_checks(tc):
    has_type, has_by_epoch = "type" in tc, "by_epoch" in tc
    if not has_type and not has_by_epoch:
        yield Violation(
            message=("train_cfg has neither type nor by_epoch: Runner.build_train_loop fails with KeyError: "
                     "'by_epoch'"),
            key_path="train_cfg.type", evidence={"keys": sorted(str(k) for k in tc.keys())},
            fix="set train_cfg.type='EpochBasedTrainLoop' (max_epochs) or 'IterBasedTrainLoop' (max_iters)")
        return
    kind = node_type(tc) if has_type else ("EpochBasedTrainLoop" if tc.get("by_epoch") else "IterBasedTrainLoop")
    length_key = LOOP_LENGTH.get(kind)
    if length_key is not None:
        length = tc.get(length_key, None)
        if length is None:
            yield Violation(
                message=f"train_cfg ({kind}) has no {length_key}: the loop cannot be built (a required argument)",
                key_path=f"train_cfg.{length_key}", evidence={"loop": kind, "keys": sorted(str(k) for k in tc.keys())},
                fix=f"set train_cfg.{length_key}")
        elif _num(length) is None or not float(length).is_integer():
            yield Violation(
                message=(f"train_cfg.{length_key}={length!r} is not a whole number: {kind} asserts "
                         f"int({length_key}) == {length_key} and fails before training starts"),
                key_path=f"train_cfg.{length_key}", evidence={"loop": kind, length_key: repr(length)},
                fix=f"set train_cfg.{length_key} to a whole number"
                    + (f" (e.g. {round(length)})" if _num(length) is not None else ""))
        yield from _dynamic_intervals(tc.get("dynamic_intervals", None))


def _dynamic_intervals(di):
    if di is None:
        return
    if isinstance(di, list) and all(isinstance(p, tuple) for p in di):
        return
    yield Violation(
        message=(f"train_cfg.dynamic_intervals={_shown(di)} is not a list of (milestone, interval) tuples: "
                 f"the training loop asserts exactly that when it is built"),
        key_path="train_cfg.dynamic_intervals", evidence={"dynamic_intervals": _shown(di)},
        fix="write it as a list of tuples, e.g. dynamic_intervals=[(280, 1)]")


def _half_set(cfg):
    """(stage, keys set, keys None) of every stage whose three settings are neither all set nor all None."""
    for stage, keys in TRIPLES:
        missing = [k for k in keys if cfg.get(k, None) is None]
        if 0 < len(missing) < len(keys):
            yield stage, [k for k in keys if k not in missing], missing, {k: _shown(cfg.get(k)) for k in keys
                                                                         if k not in missing}


def _half_set_violation(half):
    """One finding for all half-set stages: they share a cause (a schedule or dataset base not inherited)."""
    def _is(keys):
        return "is" if len(keys) == 1 else "are"

    parts = [f"{', '.join(given)} {_is(given)} set but {' and '.join(missing)} {_is(missing)} None"
             for _, given, missing, _ in half]
    stages = [keys for stage, keys in TRIPLES if stage in {h[0] for h in half}]
    fixes = [f"set {' and '.join(missing)} (for {STAGE_NAME[stage]}) or {', '.join(given)} to None"
             for stage, given, missing, _ in half]
    groups = " and ".join(f"({', '.join(k)})" for k in stages)
    missing = {k for h in half for k in h[2]}
    schedule = (" (in mmdet's configs the loops and the optimizer come from a schedule base such as "
                "_base_/schedules/schedule_1x.py)") \
        if len(half) > 1 and missing <= {"train_cfg", "val_cfg", "test_cfg", "optim_wrapper"} else ""
    return Violation(
        message=("; ".join(parts) + f": mmengine's Runner takes {'each of ' if len(stages) > 1 else ''}{groups} "
                 "all set or all None, and raises ValueError when it is built (tools/train.py and "
                 "tools/test.py alike)" + schedule),
        key_path=half[0][2][0],
        evidence={"missing": [k for h in half for k in h[2]],
                  "set": {k: v for h in half for k, v in h[3].items()}},
        fix="; ".join(fixes))

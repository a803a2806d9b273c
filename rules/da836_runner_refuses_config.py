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


@rule(code="DA836", name="runner-refuses-config", severity="error", tier="static", needs=())
def runner_refuses_config(ctx):
    """mmengine's Runner refuses the config before training starts: a stage's settings are half set, or its loop cannot be built.

    ## What it does
    Reads the settings ``Runner.from_cfg`` and ``Runner.train`` check before the first
    iteration, and reports those mmengine rejects:

    - ``train_dataloader``, ``train_cfg`` and ``optim_wrapper`` not all set or all None
      (likewise ``val_dataloader``/``val_cfg``/``val_evaluator`` and
      ``test_dataloader``/``test_cfg``/``test_evaluator``): ``Runner.__init__`` raises
      ``ValueError`` (the key reported is the first one missing);
    - ``param_scheduler`` set while no ``optim_wrapper`` is (``ValueError`` in ``__init__``);
    - ``train_cfg`` with neither ``type`` nor ``by_epoch``: ``Runner.build_train_loop`` fails
      with ``KeyError: 'by_epoch'``;
    - an ``EpochBasedTrainLoop``/``IterBasedTrainLoop`` without its ``max_epochs``/``max_iters``,
      or with one that is not a whole number (the loop asserts ``int(max_epochs) == max_epochs``);
    - ``train_cfg.dynamic_intervals`` that is not a list of tuples (``[[280, 1]]``): mmengine's
      ``calc_dynamic_intervals`` asserts a list of ``(milestone, interval)`` tuples;
    - ``auto_scale_lr.enable=True`` without ``base_batch_size`` (an assertion in
      ``Runner.scale_lr``).

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
    cfg = ctx.cfg
    if all(cfg.get(k, None) is None for k in LOADERS):
        return  # no data at all: a fragment to inherit from (qdtrack's *_base.py), not a run
    for stage, keys in TRIPLES:
        values = {k: cfg.get(k, None) for k in keys}
        missing = [k for k in keys if values[k] is None]
        if 0 < len(missing) < len(keys):
            given = [k for k in keys if values[k] is not None]
            yield Violation(
                message=(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
                         f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} None: mmengine's Runner "
                         f"takes {', '.join(keys)} all set or all None, and raises ValueError when it is built "
                         f"(tools/train.py and tools/test.py alike)"),
                key_path=missing[0],
                evidence={"stage": stage, "missing": missing,
                          "set": {k: _shown(values[k]) for k in given}},
                fix=(f"set {' and '.join(missing)} (for {STAGE_NAME[stage]}), or set {', '.join(given)} to None "
                     f"(to leave {STAGE_NAME[stage]} out)"))
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

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import is_mapping, node_type, train_loop
from detaudit.rule.merge import where

# Samplers that never end an epoch: they yield indices forever (IterBasedTrainLoop's kind).
INFINITE_SAMPLERS = ("InfiniteSampler", "MultiSourceSampler", "GroupMultiSourceSampler")
# Hooks whose ``by_epoch`` counts their ``interval`` in epochs (the default) or iterations.
UNIT_HOOKS = ("checkpoint", "logger", "param_scheduler")


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _schedulers(cfg):
    s = cfg.get("param_scheduler", None)
    if isinstance(s, (list, tuple)):
        return [(f"param_scheduler.{i}", d) for i, d in enumerate(s) if is_mapping(d)]
    return [("param_scheduler", s)] if is_mapping(s) else []


@rule(code="DA806", name="loop-schedule-inconsistent", severity="error", tier="static", needs=("key_history",))
def loop_schedule_inconsistent(ctx):
    """The training loop, its sampler, the schedulers, the hooks and resuming disagree on how training runs.

    ## What it does
    Reads ``train_cfg`` and what depends on its unit (epochs or iterations):

    - an epoch-based loop over a sampler that never ends (``InfiniteSampler``,
      ``MultiSourceSampler``, ``GroupMultiSourceSampler``): the first epoch never ends;
    - an iteration-based loop whose ``param_scheduler`` entries count epochs
      (``by_epoch=True``, mmengine's default): ``IterBasedTrainLoop`` runs one long epoch, so
      they step once, at the very end;
    - hooks (``checkpoint``, ``logger``, ``param_scheduler``) and ``log_processor`` counting
      epochs under an iteration-based loop (warning);
    - ``val_begin`` beyond ``max_epochs``/``max_iters``: validation never runs (warning;
      not when every val metric only writes result files, ``format_only=True``, where
      skipping validation during training is the point);
    - ``resume=True`` together with ``load_from`` (warning): mmengine resumes from
      ``load_from``, not from the latest checkpoint of the work dir.

    ## Why is this bad?
    None of these fails at start-up. An epoch loop over an infinite sampler trains forever
    inside epoch 1 (no validation, no checkpoint, no schedule step); an epoch scheduler under
    an iteration loop leaves the learning rate at its initial value for the whole run; a
    checkpoint hook counting epochs under an iteration loop writes a single checkpoint at
    the end; ``resume=True`` with ``load_from`` restarts from the pretrained weights'
    optimizer state and epoch, not from where the interrupted run stopped.

    ## Example
    ```python
    _base_ = 'mmdet::common/ms-90k_coco.py'            # IterBasedTrainLoop + InfiniteSampler
    train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=12)
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::common/ms-90k_coco.py'
    train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=12)
    train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True))
    ```

    ## References
    - mmengine ``EpochBasedTrainLoop``, ``IterBasedTrainLoop`` and ``Runner.load_or_resume``
    """
    cfg = ctx.cfg
    loop = train_loop(cfg)
    if loop is not None:
        try:
            history = ctx.key_history
        except FactUnavailable:
            history = None  # a Config object, not a file: no sources to compare
        yield from _loop_checks(cfg, *loop, history)
    if cfg.get("resume", False) is True and cfg.get("load_from", None):
        yield Violation(
            message=(f"resume=True with load_from={cfg.get('load_from')!r}: mmengine resumes from load_from "
                     f"(its weights, optimizer state and epoch), not from the latest checkpoint in the work dir"),
            key_path="resume", evidence={"load_from": str(cfg.get("load_from"))},
            fix="to continue an interrupted run set load_from=None (resume finds the latest checkpoint in "
                "work_dir); to start from weights set resume=False",
            severity="warning")


def _format_only(cfg) -> bool:
    """Whether validation would only write result files (every val metric has format_only=True):
    configs then put val_begin past the end on purpose, to skip it during training."""
    ev = cfg.get("val_evaluator", None)
    metrics = ev if isinstance(ev, (list, tuple)) else [ev]
    return bool(metrics) and all(is_mapping(m) and m.get("format_only", False) is True for m in metrics)


def _at(history, key: str) -> str:
    last = history.final(key) if history is not None else None
    return where(last) if last is not None else "?"


def _later(history, *keys: str) -> str:
    """Of keys that contradict each other, the one written last: the edit that broke the pair."""
    if history is None:
        return keys[0]
    stamps = [((history.final(k).stamp if history.final(k) is not None else -1), k) for k in keys]
    return max(stamps)[1]


def _loop_checks(cfg, unit, length, loop_key, history):
    kind = node_type(cfg.get("train_cfg")) or f"{unit}-based loop"
    dl = cfg.get("train_dataloader", None)
    sampler = dl.get("sampler", None) if is_mapping(dl) else None
    sampler_type = node_type(sampler)
    if unit == "epoch" and sampler_type in INFINITE_SAMPLERS:
        yield Violation(
            message=(f"train_cfg.type={kind!r} (max_epochs={length}, {_at(history, 'train_cfg.type')}) runs over "
                     f"train_dataloader.sampler.type={sampler_type!r} ({_at(history, 'train_dataloader.sampler.type')}),"
                     f" a sampler that never ends an epoch: training stays in epoch 1 forever (no epoch-end "
                     f"validation, checkpoint or scheduler step)"),
            key_path=_later(history, "train_cfg.type", "train_dataloader.sampler.type"),
            evidence={"loop": kind, "sampler": sampler_type},
            fix="use sampler=dict(type='DefaultSampler', shuffle=True) with the epoch loop, or an IterBasedTrainLoop")
    if unit == "iter":
        for key, s in _schedulers(cfg):
            if s.get("by_epoch", True) is True:
                how = "by_epoch=True" if "by_epoch" in s else "by_epoch unset (default True)"
                yield Violation(
                    message=(f"{key} ({node_type(s)}) counts epochs ({how}) under an {kind}: the loop runs one "
                             f"long epoch, so this scheduler steps once, at the end, and the learning rate it "
                             f"sets never changes during training"),
                    key_path=f"{key}.by_epoch" if "by_epoch" in s else key,
                    evidence={"scheduler": node_type(s), "loop": kind},
                    fix="set by_epoch=False and give begin/end/milestones in iterations (or convert_to_iter_based=True)")
        hooks = cfg.get("default_hooks", None)
        for name in UNIT_HOOKS:
            hook = hooks.get(name, None) if is_mapping(hooks) else None
            if is_mapping(hook) and hook.get("by_epoch", None) is True and name == "checkpoint":
                yield Violation(
                    message=(f"default_hooks.checkpoint counts epochs (by_epoch=True) under an {kind}: its interval "
                             f"never comes round, and one checkpoint is written at the end"),
                    key_path="default_hooks.checkpoint.by_epoch", fix="set by_epoch=False with an interval in iterations",
                    severity="warning")
        lp = cfg.get("log_processor", None)
        if is_mapping(lp) and lp.get("by_epoch", True) is True:
            yield Violation(
                message=(f"log_processor counts epochs (by_epoch={'True' if 'by_epoch' in lp else 'unset, default True'})"
                         f" under an {kind}: logs show 'Epoch(train) [1][i/len]' with a wrong length"),
                key_path="log_processor.by_epoch" if "by_epoch" in lp else "log_processor",
                fix="set log_processor = dict(by_epoch=False)", severity="warning")
    tc = cfg.get("train_cfg")
    begin = _num(tc.get("val_begin", None))
    if begin is not None and _num(length) is not None and begin > length and not _format_only(cfg):
        yield Violation(
            message=(f"train_cfg.val_begin={begin} is beyond {loop_key.rsplit('.', 1)[-1]}={length}: validation "
                     f"never runs"),
            key_path="train_cfg.val_begin", evidence={"val_begin": begin, "length": length},
            fix=f"set val_begin to at most {length}", severity="warning")

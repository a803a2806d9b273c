from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.merge import where


def _schedulers(cfg):
    schedulers = cfg.get("param_scheduler", None)
    items = schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]
    for i, s in enumerate(items):
        if is_mapping(s):
            yield (f"param_scheduler.{i}" if isinstance(schedulers, (list, tuple)) else "param_scheduler"), s


@rule(code="DA855", name="warmup-counts-accumulated-iterations", severity="warning", tier="static",
      needs=("source_map",))
def warmup_counts_accumulated_iterations(ctx):
    """An iteration-based warmup under gradient accumulation is over after a fraction of the optimizer updates.

    ## What it does
    When ``optim_wrapper.accumulative_counts`` is above 1, reports each parameter scheduler that
    counts iterations (``by_epoch=False``), spans at most 5000 of them (a warmup) and was written
    in another file than the accumulation (inherited, so chosen without it), with the number of
    optimizer updates it actually spans.

    ## Why is this bad?
    Accumulating gradients over N iterations emulates an N times larger batch, but mmengine's
    schedulers still step once per loader iteration: a 500-iteration warmup written for the
    large batch is over after 500 / N optimizer updates, and the full learning rate reaches the
    model N times sooner than in the recipe being emulated, which is what the warmup was there
    to prevent.

    ## Example
    ```python
    optim_wrapper = dict(accumulative_counts=8)
    param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500), ...]
    ```

    ## Use instead
    ```python
    param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500 * 8), ...]
    ```
    """
    wrapper = ctx.cfg.get("optim_wrapper", None)
    counts = wrapper.get("accumulative_counts", 1) if is_mapping(wrapper) else 1
    if not isinstance(counts, int) or isinstance(counts, bool) or counts <= 1:
        return
    sm = ctx.source_map
    accumulation = sm.locate("optim_wrapper.accumulative_counts")
    for path, s in _schedulers(ctx.cfg):
        end = s.get("end", None)
        if s.get("by_epoch", True) is not False or not isinstance(end, int) or isinstance(end, bool):
            continue
        begin = s.get("begin", 0) if isinstance(s.get("begin", 0), int) else 0
        span = end - begin
        if span <= 0 or span > 5000:  # an iteration-based schedule of the whole training, not a warmup
            continue
        written = sm.locate(f"{path}.end")
        if written is not None and accumulation is not None and \
                getattr(written, "file", None) == getattr(accumulation, "file", None):
            continue  # written next to the accumulation: chosen for it
        yield Violation(
            message=(f"{path} ({type_name(s.get('type', None))}) runs {span} iterations (end at "
                     f"{where(sm.locate(f'{path}.end'))}), but optim_wrapper.accumulative_counts={counts} "
                     f"({where(sm.locate('optim_wrapper.accumulative_counts'))}) makes that {span // counts} "
                     f"optimizer updates: the warmup is over {counts} times sooner than the recipe's"),
            key_path=f"{path}.end", evidence={"iterations": span, "accumulative_counts": counts,
                                             "updates": span // counts},
            fix=f"count the warmup in iterations of the accumulated batch: end={begin + span * counts}")

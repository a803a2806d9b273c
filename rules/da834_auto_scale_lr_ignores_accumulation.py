from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping


@rule(code="DA834", name="auto-scale-lr-ignores-accumulation", severity="warning", tier="static", needs=())
def auto_scale_lr_ignores_accumulation(ctx):
    """``auto_scale_lr`` is on while gradients are accumulated: the scaling does not count the accumulation.

    ## What it does
    Reports ``auto_scale_lr.enable=True`` together with ``optim_wrapper.accumulative_counts``
    above 1. mmengine's ``Runner.scale_lr`` multiplies the learning rate by
    ``world_size * train_dataloader.batch_size / base_batch_size``: the batch of one forward
    pass, not the batch of one optimizer step, which accumulation makes ``accumulative_counts``
    times larger.

    ## Why is this bad?
    Accumulating two batches of 8 on one GPU to reach the base batch of 16 is the usual way
    to train a 16-image recipe on a small machine; with ``auto_scale_lr`` on, the runner still
    halves the learning rate (8/16), so the run trains at half the rate the recipe uses, and
    says so only in a log line.

    ## Example
    ```python
    train_dataloader = dict(batch_size=8)
    optim_wrapper = dict(accumulative_counts=2)
    auto_scale_lr = dict(enable=True, base_batch_size=16)
    ```

    ## Use instead
    ```python
    train_dataloader = dict(batch_size=8)
    optim_wrapper = dict(accumulative_counts=2)
    auto_scale_lr = dict(enable=False, base_batch_size=16)  # 8 x 2 is the base batch already
    ```
    """
    cfg = ctx.cfg
    scale, wrapper, loader = cfg.get("auto_scale_lr", None), cfg.get("optim_wrapper", None), \
        cfg.get("train_dataloader", None)
    if not (is_mapping(scale) and scale.get("enable", False) and is_mapping(wrapper)):
        return
    counts = wrapper.get("accumulative_counts", 1)
    if not isinstance(counts, int) or isinstance(counts, bool) or counts <= 1:
        return
    batch = loader.get("batch_size", None) if is_mapping(loader) else None
    base = scale.get("base_batch_size", None)
    numbers = isinstance(batch, int) and isinstance(base, (int, float)) and base > 0
    per_gpu = (f": with {batch} images a GPU it multiplies the learning rate by GPUs x {batch} / {base:g}, "
               f"while each optimizer step sees GPUs x {batch * counts} images") if numbers else ""
    yield Violation(
        message=(f"auto_scale_lr scales the learning rate by the batch of one forward pass, not counting "
                 f"optim_wrapper.accumulative_counts={counts}{per_gpu}; the rate ends up {counts}x below what "
                 "the effective batch calls for"),
        key_path="auto_scale_lr.enable",
        evidence={"accumulative_counts": counts, "batch_size": batch, "base_batch_size": base},
        fix=(f"set auto_scale_lr.enable=False when batch_size x accumulative_counts x GPUs is the base batch "
             f"already, or base_batch_size={base / counts:g} to scale by the step's batch" if numbers else
             "turn auto_scale_lr off, or divide base_batch_size by accumulative_counts"))

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import is_mapping

LR = "optim_wrapper.optimizer.lr"
BASE = "auto_scale_lr.base_batch_size"


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@rule(code="DA862", name="lr-scaling-base-rewritten", severity="warning", tier="static", needs=("key_history",))
def lr_scaling_base_rewritten(ctx):
    """``auto_scale_lr.base_batch_size`` was changed, but the learning rate it describes was not.

    ## What it does
    Reports a config that rewrites ``auto_scale_lr.base_batch_size`` down to the images of one
    GPU (``train_dataloader.batch_size``) while ``optim_wrapper.optimizer.lr`` is still the
    value the base wrote, for the base's larger total batch. ``base_batch_size`` is not a setting of the
    run: it records the total batch (GPUs x images per GPU) the recipe's learning rate was
    tuned for. mmengine's ``Runner.scale_lr`` multiplies the learning rate by
    ``GPUs x train_dataloader.batch_size / base_batch_size`` when scaling is on
    (``auto_scale_lr.enable=True`` or ``--auto-scale-lr``).

    ## Why is this bad?
    ``base_batch_size=2`` read as "my batch size" next to the recipe's ``lr=0.02`` (tuned for
    16 images) tells the runner that 0.02 suits 2 images: one GPU with 2 images keeps 0.02,
    eight times the recipe's rate per image, and eight GPUs train at 0.16. Training diverges
    or converges worse, and nothing fails.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'  # lr=0.02, base_batch_size=16
    train_dataloader = dict(batch_size=2)
    auto_scale_lr = dict(enable=True, base_batch_size=2)
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataloader = dict(batch_size=2)
    auto_scale_lr = dict(enable=True, base_batch_size=16)  # the batch lr=0.02 was tuned for
    ```
    """
    cfg = ctx.cfg
    scale = cfg.get("auto_scale_lr", None)
    if not is_mapping(scale) or _num(scale.get("base_batch_size", None)) is None:
        return
    try:
        history = ctx.key_history
    except FactUnavailable:
        return
    bases = [a for a in history.of(BASE) if a.status != "discarded" and a.literal and _num(a.value) is not None]
    lr_final = history.final(LR)
    if len(bases) < 2 or lr_final is None:
        return
    old, new = bases[-2], bases[-1]
    if new.status != "set" or old.value == new.value or old.file == new.file \
            or lr_final.stamp > new.stamp or lr_final.file == new.file:
        return  # the lr was written with (or after) the new base batch: tuned together
    lr = cfg.get("optim_wrapper", {}).get("optimizer", {}).get("lr", None) \
        if is_mapping(cfg.get("optim_wrapper", None)) else None
    loader = cfg.get("train_dataloader", None)
    batch = _num(loader.get("batch_size", None)) if is_mapping(loader) else None
    if batch != new.value or new.value >= old.value:
        return  # a recipe re-recording its real total batch (8 x 16 = 128 at the same lr) is no misreading
    enabled = scale.get("enable", False) is True
    ratio = f"{old.value / new.value:g}x" if new.value else "far"
    per_gpu = (f"; with {batch} images a GPU, one GPU keeps lr={lr:g} and N GPUs train at N x {lr * batch / new.value:g}"
               if _num(lr) is not None and batch and new.value else "")
    yield Violation(
        message=(f"auto_scale_lr.base_batch_size changed from {old.value:g} ({old.where}) to {new.value:g} "
                 f"({new.where}), but optim_wrapper.optimizer.lr={lr!r} is the value written before it "
                 f"({lr_final.where}), tuned for a total batch of {old.value:g}: "
                 f"{'the runner' if enabled else 'with --auto-scale-lr the runner'} scales that lr as if it suited "
                 f"{new.value:g} images, {ratio} the recipe's rate per image{per_gpu}"),
        key_path=BASE, evidence={"base_batch_size": new.value, "recipe_base_batch_size": old.value, "lr": lr,
                                 "batch_size": batch, "enable": enabled},
        fix=(f"keep base_batch_size={old.value:g} (the batch the lr was tuned for), or set the lr tuned for "
             f"{new.value:g} images together with it"))

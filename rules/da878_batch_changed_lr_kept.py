import re

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import is_mapping, number

LR = "optim_wrapper.optimizer.lr"
BATCH = "train_dataloader.batch_size"


@rule(code="DA878", name="batch-changed-lr-kept", severity="warning", tier="static", needs=("key_history",))
def batch_changed_lr_kept(ctx):
    """The images per GPU were changed from the recipe's, its learning rate was kept, and ``auto_scale_lr`` is off.

    ## What it does
    Reads from the key history a ``train_dataloader.batch_size`` that a later file changed from
    the value of the recipe it inherits, while ``optim_wrapper.optimizer.lr`` is still the value
    written before that change (in the recipe), ``auto_scale_lr.enable`` is not set and no
    ``accumulative_counts`` makes up the difference. ``auto_scale_lr.base_batch_size`` (the total
    batch the lr was tuned for) gives the recipe's GPU count, from which the rate per image
    the change leads to is stated. A config whose name states a GPU count that keeps the total
    batch (``16xb1`` from an ``8xb2`` recipe, the zoo's own way) is left alone.

    ## Why is this bad?
    A recipe's learning rate is tuned for its total batch (GPUs x images per GPU, recorded as
    ``base_batch_size``). With fewer images per GPU on the recipe's GPUs the same lr is a larger
    step per image (a quarter of the batch at the same lr is four times the recipe's rate), and
    more images a smaller one; mmdet's documentation asks for ``auto_scale_lr`` or a scaled lr
    whenever the batch changes. Training runs either way, and converges worse or diverges.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'  # 8 GPUs x 2 images, lr=0.02
    train_dataloader = dict(batch_size=1)
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataloader = dict(batch_size=1)
    auto_scale_lr = dict(enable=True, base_batch_size=16)  # the runner scales lr to GPUs x 1 image
    ```
    """
    cfg = ctx.cfg
    scale = cfg.get("auto_scale_lr", None)
    if is_mapping(scale) and scale.get("enable", False) is True:
        return
    wrapper = cfg.get("optim_wrapper", None)
    optimizer = wrapper.get("optimizer", None) if is_mapping(wrapper) else None
    lr = number(optimizer.get("lr", None)) if is_mapping(optimizer) else None
    if lr is None:
        return
    try:
        history = ctx.key_history
    except FactUnavailable:
        return
    sizes = [a for a in history.of(BATCH) if a.status != "discarded" and a.literal and number(a.value)]
    lr_final = history.final(LR)
    if len(sizes) < 2 or lr_final is None:
        return
    old, new = sizes[-2], sizes[-1]
    if new.status != "set" or old.value == new.value or old.file == new.file \
            or lr_final.stamp > new.stamp or lr_final.file == new.file:
        return  # the lr was written with (or after) the new batch: chosen together
    counts = number(wrapper.get("accumulative_counts", None)) or 1
    if new.value * counts == old.value:
        return  # gradient accumulation keeps the recipe's batch per step
    base = number(scale.get("base_batch_size", None)) if is_mapping(scale) else None
    named = re.search(r"(\d+)xb(\d+)", str(ctx.config_path).rsplit("/", 1)[-1])
    if named and int(named.group(2)) == new.value and base and abs(int(named.group(1)) * new.value / base - 1) <= 0.1:
        return  # the config's name states another GPU count that keeps the recipe's total batch (16xb1 for 8xb2)
    gpus = base / old.value if base and base % old.value == 0 else None
    ratio = old.value / (new.value * counts)
    on = (f"on the recipe's {gpus:g} GPUs the total batch is {gpus * new.value * counts:g} images instead of "
          f"{base:g}, so lr={lr:g} is {ratio:g}x its rate per image" if gpus else
          f"on the recipe's GPUs the lr={lr:g} is {ratio:g}x its rate per image")
    yield Violation(
        message=(f"{BATCH} changed from {old.value:g} ({old.where}) to {new.value:g} ({new.where}), but "
                 f"{LR} = {lr:g} is the recipe's ({lr_final.where}) and auto_scale_lr is off: {on}"),
        key_path=LR, evidence={"batch_size": new.value, "recipe_batch_size": old.value, "lr": lr,
                               "base_batch_size": base, "accumulative_counts": counts},
        fix=(f"auto_scale_lr = dict(enable=True, base_batch_size={base:g})" if base else
             f"set {LR} = {lr / ratio:g} (scaled with the batch)") + " or scale the lr with the batch")

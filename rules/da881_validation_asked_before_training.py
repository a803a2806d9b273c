from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type

LOOPS = {"EpochBasedTrainLoop": "epoch", "IterBasedTrainLoop": "iteration"}


@rule(code="DA881", name="validation-asked-before-training", severity="warning", tier="static")
def validation_asked_before_training(ctx):
    """``train_cfg.val_begin`` below 1, as if it asked for a validation before training starts.

    ## What it does
    Reads ``val_begin`` of an ``EpochBasedTrainLoop`` or ``IterBasedTrainLoop`` (or a ``train_cfg``
    with ``by_epoch``, ``max_epochs`` or ``max_iters``) and reports a value below 1.

    ## Why is this bad?
    The loops validate only after an epoch (an iteration) has run, when its number is at least
    ``val_begin``: 0 (or less) acts exactly like the default 1. The first validation still comes
    after the first epoch, and the score of the starting weights (a fine-tune's baseline, a
    resumed run's check) is never computed; nothing says so.

    ## Example
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_begin=0, val_interval=1)
    ```

    ## Use instead
    ```python
    train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
    # the starting weights' score: python tools/test.py CONFIG CHECKPOINT before training
    ```

    ## References
    - mmengine ``EpochBasedTrainLoop.run`` / ``IterBasedTrainLoop.run`` (``self._epoch >= self.val_begin``,
      checked after each epoch)
    """
    train = ctx.cfg.get("train_cfg", None)
    if not is_mapping(train):
        return
    kind = node_type(train)
    unit = LOOPS.get(kind) or ("iteration" if "max_iters" in train else "epoch" if "max_epochs" in train else None)
    begin = train.get("val_begin", None)
    if unit is None or not isinstance(begin, int) or isinstance(begin, bool) or begin >= 1:
        return
    yield Violation(
        message=(f"train_cfg.val_begin = {begin} validates for the first time after {unit} 1, like the default 1: "
                 f"the loop validates only after a {unit} has run, so nothing scores the weights training starts from"),
        key_path="train_cfg.val_begin", evidence={"val_begin": begin, "unit": unit},
        fix="drop val_begin (1 is the default); to score the starting weights, run the test script on them "
            "before training")

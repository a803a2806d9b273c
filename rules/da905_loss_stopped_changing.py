import math

from detaudit.rule import Violation, rule

from ._training import loss_location

# A loss holds one exact value this many logged iterations in a row, and for at least this
# share of the iterations it was logged in, up to the run's last one.
MIN_RECORDS = 3
MIN_SHARE = 0.2


@rule(code="DA905", name="loss-stopped-changing", severity="error", tier="training", needs=("loss_log",))
def loss_stopped_changing(ctx):
    """A loss term stays at one exact value: the term no longer trains anything.

    ## What it does
    Reads each loss key the run logged and reports one whose value is bit for bit the same in
    the last logged iterations, at least 3 of them and at least a fifth of the iterations it
    was logged in (the whole run, or its end after a change halfway). A live loss on real
    batches never repeats exactly; mmengine's logged values are means over a window of
    iterations, so a repeat means every iteration in those windows gave that value.

    ## Why is this bad?
    A term stuck at ``0.0`` is multiplied by a zero weight (``lambda1=0`` in a resumed
    launch) or finds nothing to compare (a contrastive loss without positives, a config
    without modality pairs); a term stuck at another value has a cut gradient or a constant
    output. Either way the module it should train stops learning while the total loss still
    moves, and the run finishes without an error.

    ## Example
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', lambda1=0.0))   # set when resuming halfway
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', lambda1=1.0))
    ```
    """
    log = ctx.loss_log
    for key, series in sorted(log.series.items()):
        if series.last_iter != log.last_iter or series.tail_len < MIN_RECORDS:
            continue
        if series.tail_len < MIN_SHARE * series.count or not math.isfinite(series.tail_value):
            continue  # a short repeat, or a NaN (DA904)
        span = (f"over the whole run ({series.tail_len} logged iterations, {series.tail_start} to {series.last_iter})"
                if series.tail_start == series.first_iter else
                f"since iteration {series.tail_start} ({series.tail_len} of {series.count} logged iterations, up "
                f"to {series.last_iter}), after changing before")
        why = ("its weight is 0 or it finds nothing to compare" if series.tail_value == 0
               else "its gradient is cut or its output is constant")
        key_path, module = loss_location(ctx, key)
        yield Violation(
            message=f"{key} is exactly {series.tail_value!r} {span}: the term no longer trains anything ({why})",
            key_path=key_path, module_path=module,
            evidence={"key": key, "value": series.tail_value, "since": series.tail_start,
                      "repeats": series.tail_len, "logged_times": series.count, "source": log.source},
            fix=f"check the weight of {key} (lambda*/loss_weight) and what it needs from the batch (pairs, "
                "positives) in the config the run used at that point")

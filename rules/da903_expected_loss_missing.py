from detaudit.rule import Violation, rule

from ._training import loss_location


@rule(code="DA903", name="expected-loss-missing", severity="error", tier="training", needs=("loss_log",))
def expected_loss_missing(ctx):
    """An expected loss term is absent from what the training logged.

    ## What it does
    Takes the loss keys the run is expected to log (``expect_losses`` of ``DetAuditHook``,
    ``--expect-losses`` of ``detaudit logs``, else the loss keys of the first logged
    iteration) and reports each one that was never logged, or that stopped being logged
    before the run's last logged iteration (a resumed launch with another config, a branch
    that returns no loss for some batches).

    ## Why is this bad?
    A loss key that is not logged is not in the total loss either (mmengine sums the keys it
    logs): the module it trains receives nothing, and nothing fails. A stage-2 run resumed
    without the MACL head trains on without ``loss_macl`` and the report still shows a
    healthy total loss.

    ## Example
    ```python
    # resumed with a config that dropped the contrastive head
    model = dict(roi_head=dict(type='MACLRoIHead', macl_head=None))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', macl_head=dict(type='MACLHead', in_dim=256)))
    custom_hooks = [dict(type='DetAuditHook', expect_losses=['loss_macl', 'loss_dhn', 'loss_domain'])]
    ```
    """
    log = ctx.loss_log
    for key in log.expected:
        series = log.series.get(key)
        key_path, module = loss_location(ctx, key)
        if series is None:
            yield Violation(
                message=f"{key} is expected ({log.expected_source}) but was never logged in {log.records} logged "
                        f"iteration(s) ({log.source})",
                key_path=key_path, module_path=module,
                evidence={"key": key, "expected_source": log.expected_source, "records": log.records,
                          "logged_keys": sorted(log.series)[:20], "source": log.source},
                fix=f"check that the module producing {key} is configured and reached by the training batches")
        elif series.last_iter != log.last_iter:
            yield Violation(
                message=f"{key} was logged until iteration {series.last_iter} and not after it: the run logged "
                        f"up to iteration {log.last_iter} without it ({log.source})",
                key_path=key_path, module_path=module,
                evidence={"key": key, "last_logged_at": series.last_iter, "run_logged_until": log.last_iter,
                          "logged_times": series.count, "records": log.records, "source": log.source},
                fix=f"find what changed at iteration {series.last_iter} (a resumed launch's config, a branch "
                    f"that stops returning {key})")

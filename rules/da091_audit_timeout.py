from detaudit.rule import EVERY_FACT, rule


@rule(code="DA091", name="audit-timeout", severity="error", tier="static", needs=EVERY_FACT)
def audit_timeout(ctx):
    """The audit of this config did not finish within ``--timeout``.

    ## What it does
    With ``--timeout SECONDS`` every config is audited in a supervised worker process. When
    the time is up the audit is stopped inside the worker first: the steps already done keep
    their findings, every step not yet run is skipped, and this finding names the step that was
    running (loading the config, building the model, predict, the loss forward...). A worker
    that does not answer after a grace period (a loop inside native code, a blocking read) is
    killed together with any process it started, and this finding is all the config gets.

    The finding is made by the audit supervisor (``detaudit/report/supervision.py``), not by reading
    facts, so this rule's check itself never reports anything; selecting or ignoring DA091
    decides whether the supervisor's finding is kept.

    ## Why is this bad?
    A config whose loading or forward loops forever blocks a training job in the same way,
    usually after it has waited for its GPUs. In CI it blocks every config audited after it.

    ## Example
    ```python
    # A custom module whose forward waits for a file that never comes
    _base_ = './faster-rcnn_r50_fpn_1x_coco.py'
    custom_imports = dict(imports=['my_project.waiting_head'])
    model = dict(roi_head=dict(type='WaitingRoIHead'))
    ```

    ## Use instead
    ```python
    # No blocking work in __init__ or forward; load side data once, from a path that exists
    model = dict(roi_head=dict(type='StandardRoIHead'))
    ```

    ## References
    - ``detaudit --timeout SECONDS`` (README, "Many configs")
    """
    return ()  # the supervisor makes the finding; declaring the rule selects it

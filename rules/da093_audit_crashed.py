from detaudit.rule import EVERY_FACT, rule


@rule(code="DA093", name="audit-crashed", severity="error", tier="static", needs=EVERY_FACT)
def audit_crashed(ctx):
    """The process auditing this config died (native crash, ``os._exit``, killed).

    ## What it does
    When configs are audited in worker processes (``--jobs N``, ``--timeout``,
    ``--max-memory``), a worker that dies while auditing a config (a segmentation fault in a
    compiled extension, ``os._exit()`` in the config's code or a custom module, the kernel's
    out-of-memory killer) becomes this finding for that config, with the exit status. The
    supervisor starts a new worker and the other configs are audited as usual.

    The supervisor (``detaudit/report/supervision.py``) makes this finding; this rule's check itself
    never reports anything, and selecting or ignoring DA093 decides whether the finding is kept.

    ## Why is this bad?
    Whatever killed the auditing process will kill the training process too, at the same
    place: when the config is loaded, when the model is built or on the first iteration.

    ## Example
    ```python
    import os
    if not os.path.exists('/data/coco'):
        os._exit(1)  # leaves no traceback, no log, no checkpoint
    ```

    ## Use instead
    ```python
    data_root = '/data/coco/'  # let the dataset report a missing folder with a clear error
    ```
    """
    return ()  # the supervisor makes the finding; declaring the rule selects it

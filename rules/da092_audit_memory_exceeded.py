from detaudit.rule import EVERY_FACT, rule


@rule(code="DA092", name="audit-memory-exceeded", severity="error", tier="static", needs=EVERY_FACT)
def audit_memory_exceeded(ctx):
    """The audit of this config ran out of memory (``--max-memory`` or the machine's).

    ## What it does
    Reports an allocation that failed while the config was loaded, its model built, its
    checkpoint read or its synthetic forward run: a ``MemoryError``, or torch's "can't
    allocate memory". With ``--max-memory SIZE`` each audit runs in a worker whose address
    space may grow by at most SIZE, so an oversized model or input fails inside the audit
    (keeping the findings of the steps before), and the supervisor kills a worker whose
    resident memory still grows past the limit. The finding names the step and the limit.

    The supervisor (``detaudit/report/supervision.py``) and the engine make this finding after the
    rules have run; this rule's check itself never reports anything, and selecting or
    ignoring DA092 decides whether the finding is kept.

    ## Why is this bad?
    A config that needs more memory than the audit budget usually needs far more on the
    training machine (real image sizes and batch), and one such config must not take down
    the audit of all the others.

    ## Example
    ```python
    # audited with: detaudit --max-memory 2G --input-size 4096x4096 configs/
    model = dict(backbone=dict(type='ResNet', depth=152))
    ```

    ## Use instead
    ```python
    # audit with a small synthetic input: the checks do not need real image sizes
    # detaudit --max-memory 2G configs/      (the default input is derived small)
    model = dict(backbone=dict(type='ResNet', depth=152))
    ```
    """
    return ()  # the supervisor makes the finding; declaring the rule selects it

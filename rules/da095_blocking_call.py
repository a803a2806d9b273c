from detaudit.rule import EVERY_FACT, rule


@rule(code="DA095", name="blocking-call", severity="error", tier="static", needs=EVERY_FACT)
def blocking_call(ctx):
    """The config's code makes a call that waits for a person or for a peer that never comes.

    ## What it does
    While the audit runs the config's code (loading it, building the model, the forward and
    training steps, and the run tier's Runner), the calls that would wait forever on a machine
    nobody watches are intercepted: they return at once, and each becomes this finding at the
    config key that asked for it (the hook by its key in ``default_hooks`` or ``custom_hooks``, the
    transform by its pipeline step, the model by its module), with the call site.

    - a visualizer's ``show``, OpenCV's ``imshow``/``waitKey``, matplotlib's ``show``/``pause``;
    - ``input()``, ``getpass()`` and reads from standard input (they see end of input);
    - a ``threading.Barrier`` whose parties never arrive (it waits one second), a
      ``torch.distributed`` process group for more than one process (it raises);
    - ``time.sleep`` past three seconds in total: a loop waiting for something that will not come
      (it raises at the caller's site).

    The finding is made by the audit itself (``detaudit/report/blocking.py``) from what was
    intercepted, not by reading facts, so this rule's check never reports anything; selecting
    or ignoring DA095 decides whether those findings are kept. A visualization hook with
    ``show=True`` is also found without running anything (DA715); the run's finding for the
    same hook is then left out.

    ## Why is this bad?
    Training runs on machines without a display or a terminal. A call that waits for a window
    to close, a key, a line of input or another process hangs the job without an error and
    without a log line, until its time limit ends it, often after it has waited for its GPUs.

    ## Example
    ```python
    # a custom hook that asks before it saves
    custom_hooks = [dict(type='AskBeforeSavingHook')]   # calls input('save? ') in after_val_epoch
    ```

    ## Use instead
    ```python
    # decide in the config, not at run time
    custom_hooks = [dict(type='AskBeforeSavingHook', save=True)]
    ```

    ## References
    - DA715 (visualization-show-blocks)
    - DA091 (audit-timeout): a wait nobody anticipated, stopped by the audit's time bound
    """
    return ()  # the audit makes the findings from what it intercepted; declaring the rule selects it

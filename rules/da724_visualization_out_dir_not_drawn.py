from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA724", name="visualization-out-dir-not-drawn", severity="warning", tier="run",
      needs=("run_result",))
def visualization_out_dir_not_drawn(ctx):
    """A visualization hook has a ``test_out_dir`` but ``draw=False``: nothing is ever written there.

    ## What it does
    For ``DetVisualizationHook`` (and the tracking and grounding ones) built as the config writes
    them, reports a ``test_out_dir`` together with ``draw=False`` (the default).

    ## Why is this bad?
    The hook's ``after_test_iter`` returns at once when ``draw`` is False, before it looks at
    ``test_out_dir``: the test finishes and the folder the config names holds no image.
    ``tools/test.py --show-dir`` sets both; a config that sets only the folder gets nothing.

    ## Example
    ```python
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', test_out_dir='vis'))
    ```

    ## Use instead
    ```python
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', draw=True, test_out_dir='vis'))
    ```

    ## References
    - mmdet ``DetVisualizationHook.after_test_iter``
    """
    yield from hook_contract_violations(ctx, "not_drawn")

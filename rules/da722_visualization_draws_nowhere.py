from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA722", name="visualization-draws-nowhere", severity="warning", tier="run", needs=("run_result",))
def visualization_draws_nowhere(ctx):
    """A visualization hook draws predictions that nothing keeps.

    ## What it does
    For ``DetVisualizationHook`` (and the tracking and grounding ones) with ``draw=True``, checks
    where a drawing goes: a window (``show=True``), ``test_out_dir`` (test images), or the
    visualizer's ``vis_backends``. Reports the hook when the built visualizer has no backend and
    neither of the others is set.

    ## Why is this bad?
    Drawing every ``interval``-th validation image and every test image costs time, and each
    drawing is thrown away: the images the config asks for are never written.

    ## Example
    ```python
    visualizer = dict(type='DetLocalVisualizer', vis_backends=[], name='visualizer')
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', draw=True))
    ```

    ## Use instead
    ```python
    visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', draw=True))
    ```

    ## References
    - mmdet ``DetVisualizationHook.after_test_iter``, ``DetLocalVisualizer.add_datasample``
    """
    yield from hook_contract_violations(ctx, "drawing")

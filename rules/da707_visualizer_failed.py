from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA707", name="visualizer-failed", severity="error", tier="run", needs=("run_result",))
def visualizer_failed(ctx):
    """The visualizer or one of its backends does not build, or fails while logging.

    ## What it does
    Looks up every ``visualizer.vis_backends`` type in the registry, builds the visualizer, and
    lets it log and draw during the dry run (remote backends such as Weights & Biases are
    checked by type and replaced by local logging for the run: detaudit never contacts a
    service). Reports the key with the error: a misspelled backend type, an argument the
    visualizer does not take.

    ## Why is this bad?
    The Runner builds the visualizer first; a misspelled backend stops the job at start-up, and
    one that fails while logging stops it at the first logged iteration.

    ## Example
    ```python
    visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='TensorBoardVisBackend')])
    ```

    ## Use instead
    ```python
    visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='TensorboardVisBackend')])
    ```
    """
    for f in failures_of(ctx, "visualizer"):
        yield violation(f, f"{f.key_path} fails {where(f)}: {f.error.short()}",
                        "fix the type or arguments named here (backend types: LocalVisBackend, "
                        "TensorboardVisBackend, WandbVisBackend, ...)")

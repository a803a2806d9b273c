import re

from detaudit.rule import rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.run import failures_of, violation, where

DUPLICATE = re.compile(r"vis_backend name (\S+) already exists")


def _duplicate_backend(cfg, name: str) -> str | None:
    """The key of the second backend named ``name`` (its ``name``, else its type's): the one to drop."""
    visualizer = cfg.get("visualizer", None)
    backends = visualizer.get("vis_backends", None) if is_mapping(visualizer) else None
    seen = 0
    for i, backend in enumerate(backends if isinstance(backends, (list, tuple)) else ()):
        if is_mapping(backend) and (backend.get("name", None) or type_name(backend.get("type"))) == name:
            seen += 1
            if seen == 2:
                return f"visualizer.vis_backends.{i}"
    return None


@rule(code="DA707", name="visualizer-failed", severity="error", tier="run", needs=("run_result",))
def visualizer_failed(ctx):
    """The visualizer or one of its backends does not build, or fails while logging.

    ## What it does
    Looks up every ``visualizer.vis_backends`` type in the registry, builds the visualizer, and
    lets it log and draw during the dry run (remote backends such as Weights & Biases are
    checked by type and replaced by local logging for the run: detaudit never contacts a
    service). Reports the key with the error: a misspelled backend type, an argument the
    visualizer does not take, a second backend of one name (the second is the key to edit).

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
        m = DUPLICATE.search(f.error.message or "")
        twice = _duplicate_backend(ctx.cfg, m.group(1)) if m else None
        if twice is not None:  # the Visualizer keeps its backends by name: the second one is refused
            found = violation(f, f"{twice} is a second {m.group(1)} in visualizer.vis_backends, and backends are "
                                 f"kept by name: the visualizer fails {where(f)}: {f.error.short()}",
                              f"drop {twice}, or give it its own name= (a second backend of one type needs one)")
            found.key_path = twice
            yield found
            continue
        yield violation(f, f"{f.key_path} fails {where(f)}: {f.error.short()}",
                        "fix the type or arguments named here (backend types: LocalVisBackend, "
                        "TensorboardVisBackend, WandbVisBackend, ...)")

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type


@rule(code="DA715", name="visualization-show-blocks", severity="error", tier="static")
def visualization_show_blocks(ctx):
    """A visualization hook shows each image in a window and waits until it is closed.

    ## What it does
    Reads every visualization hook of ``default_hooks`` and ``custom_hooks``
    (``DetVisualizationHook`` and any hook whose type ends in ``VisualizationHook``) and reports
    one with ``show=True`` and no ``wait_time`` (its default, 0, means "wait until the window is
    closed"). The config is only read: the finding comes at every tier, ``--tier static`` included.

    ## Why is this bad?
    With ``show=True`` the hook opens a window for every image it draws and waits for it to be
    closed before training goes on. On a machine without a display (a cluster node, CI) nobody
    closes it: training hangs at its first validation, with no error and no log line, until the
    job's time limit ends it. ``show=True`` also turns the hook's storing of images off.

    ## Example
    ```python
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', draw=True, show=True))
    ```

    ## Use instead
    ```python
    # store the drawn images with the visualizer's backends; show them with tools/test.py --show
    default_hooks = dict(visualization=dict(type='DetVisualizationHook', draw=True))
    ```

    ## References
    - mmdet's ``DetVisualizationHook`` (``show``, ``wait_time``)
    - DA095 (blocking-call): the same wait, and others, met while the run tier runs the config
    """
    cfg = ctx.cfg
    hooks = []
    defaults = cfg.get("default_hooks", None)
    if is_mapping(defaults):
        hooks += [(f"default_hooks.{name}", hook) for name, hook in defaults.items()]
    customs = cfg.get("custom_hooks", None)
    if isinstance(customs, (list, tuple)):
        hooks += [(f"custom_hooks.{i}", hook) for i, hook in enumerate(customs)]
    for key, hook in hooks:
        if not is_mapping(hook) or not node_type(hook).endswith("VisualizationHook"):
            continue
        if hook.get("show", False) is not True or hook.get("wait_time", 0):
            continue
        yield Violation(
            message=f"{key}.show=True would block training on a machine without a display: {node_type(hook)} "
                    f"shows every image it draws and waits until its window is closed (wait_time=0)",
            key_path=f"{key}.show",
            evidence={"hook": node_type(hook), "show": True, "wait_time": hook.get("wait_time", 0),
                      "draw": hook.get("draw", False)},
            fix="set show=False (the visualizer's backends store the drawn images), or a wait_time in seconds")

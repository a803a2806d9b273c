from detaudit.rule import Violation, rule


@rule(code="DA001", name="config-load-error", severity="error", tier="static")
def config_load_error(ctx):
    """The config file does not load.

    ## What it does
    Loads the config with mmengine's ``Config.fromfile`` (``_base_`` and ``read_base()``
    styles, ``custom_imports``, ``--cfg-options``) and reports any failure: a syntax error,
    a missing ``_base_`` file, a bad ``read_base()`` import, an exception raised by the
    config's own code. The location is the offending file and line.

    ## Why is this bad?
    Nothing else can be checked, and training would stop at the same place, usually after
    a job has waited in a queue.

    ## Example
    ```python
    _base_ = ['../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/schedule_1x.py']  # no such file
    ```

    ## Use instead
    ```python
    _base_ = ['../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/schedules/schedule_1x.py']
    ```
    """
    err = ctx.load_error
    if err is None:
        return
    file = ctx.display_path
    if err.file:
        from pathlib import Path

        from detaudit.context import _display

        file = _display(Path(err.file), ctx.base_dir)
    yield Violation(
        message=f"config failed to load: {err.short()}",
        evidence={"exception": err.type, "detail": err.message},
        file=file, line=err.line,
        fix="fix the file and line named here; run with --debug for the full traceback",
    )

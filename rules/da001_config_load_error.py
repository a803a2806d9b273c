from detaudit.rule import Violation, display_path, rule
from detaudit.rule.source_keys import key_at_line, key_at_syntax_error

from ._load_failures import duplicate_base_key, first_use_key, undefined_name_key, unresolvable_base


@rule(code="DA001", name="config-load-error", severity="error", tier="static", needs=("load_error", "source_map"))
def config_load_error(ctx):
    """The config file does not load.

    ## What it does
    Loads the config with mmengine's ``Config.fromfile`` (``_base_`` and ``read_base()``
    styles, ``custom_imports``, ``--cfg-options``) and reports any failure: a syntax error,
    a missing ``_base_`` file, a bad ``read_base()`` import, an exception raised by the
    config's own code. The location is the offending file and line, and the key is the one that
    line writes, read from the file's syntax (``train_dataloader.dataset.data_root`` for a
    ``NameError`` in ``data_root=data_root_train``). A syntax error names the key being written
    where parsing stops: a keyword written twice in one ``dict()`` (a wrapper's ``type`` next to the
    ``type`` of the dataset it wraps: ``train_dataloader.dataset.type``), the key before a missing
    comma, else the key whose value spans the line. A failing line that defines a variable names
    the key the variable is written into (``pixel_stats = dict([...], std=...)`` read as
    ``model.data_preprocessor``). A failure with no line of the file is
    traced too: a name the file never defines to the first key that reads it (an f-string
    ``_base_`` entry built from a variable: mmengine reads the base list before the file runs),
    and bases that define the same keys to the base whose keys another base already gives (a
    dataset base listed next to a config that inherits it).

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
    if _explained_by_custom_imports(ctx, err):
        return  # DA005/DA006 name the module and why it fails
    file = ctx.display_path
    if err.file:
        file = display_path(err.file, ctx.base_dir)
    source = err.file or ctx.config_path
    key = key_at_line(source, err.line) if source and err.type != "SyntaxError" else None
    if key is None and source and err.type == "SyntaxError":
        key = key_at_syntax_error(source, err.line, err.message)
    why = ""
    if key and "." not in key and source:  # a variable's own line failed: name the key it was written for
        used = first_use_key(source, key)
        if used:
            key, why = used, f" through the variable {key}"
    if key is None and ctx.config_path and err.type == "NameError":
        key = undefined_name_key(ctx.config_path, err.message)  # the base list is read before the file runs
    elif key is None and ctx.config_path and err.type == "KeyError":
        found = duplicate_base_key(ctx.config_path, err.message)
        if found:
            key, why = found[0], f": {found[1]}"
    if key is None and ctx.config_path:  # a base that resolves to no file fails wherever mmengine looks
        found = unresolvable_base(ctx.config_path)
        if found:
            key, why = found[0], f": {found[1]}"
    yield Violation(
        message=f"config failed to load: {err.short()}" + (f" (writing {key}{why})" if key else ""),
        key_path=key,
        evidence={"exception": err.type, "detail": err.message},
        file=file, line=err.line,
        fix="fix the file and line named here; run with --debug for the full traceback",
    )


def _explained_by_custom_imports(ctx, err) -> bool:
    """The load failed importing a ``custom_imports`` module, and the rules that explain
    such failures (DA005, DA006) both run."""
    if not {"DA005", "DA006"} <= set(ctx.selected_codes):
        return False
    if err.type not in ("ImportError", "ModuleNotFoundError"):
        return False
    from detaudit.rule.packages import custom_imports

    try:
        imports, _ = custom_imports(ctx)
    except Exception:  # noqa: BLE001 - unreadable custom_imports: keep the DA001 finding
        return False
    return any(module in err.message or module.split(".")[0] in err.message for module in imports)

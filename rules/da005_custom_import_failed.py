from detaudit.rule import Violation, rule
from detaudit.rule.packages import custom_imports, installed, is_optional_package, local_module_path


@rule(code="DA005", name="custom-import-failed", severity="error", tier="static",
      needs=("custom_import_errors", "source_map"))
def custom_import_failed(ctx):
    """A module named in ``custom_imports`` does not import.

    ## What it does
    Imports every module listed in ``custom_imports.imports`` the way mmengine does when
    it loads the config, and reports each one that fails, with the exception. It reports
    them also when ``allow_failed_imports=True``, which turns the failure into a log
    warning. A module that exists under the launch directory but is not importable
    (the directory is not on ``PYTHONPATH``) is named with the folder it was found in.
    Modules from optional packages that are not installed (``mmpretrain.models``) are
    reported by DA006.

    ## Why is this bad?
    The classes the module registers (``@MODELS.register_module()``) are missing. With
    ``allow_failed_imports=False`` the job dies at start-up; with ``True`` it dies later
    with "XYZ is not in the model registry", or — for a module that only registers hooks
    or transforms nobody references by default — trains without them and nobody notices.

    ## Example
    ```python
    custom_imports = dict(imports=['projects.msp_macl'], allow_failed_imports=True)  # a typo
    ```

    ## Use instead
    ```python
    custom_imports = dict(imports=['detector'], allow_failed_imports=False)
    ```
    """
    errors = ctx.custom_import_errors  # unavailable under --no-exec: importing is executing
    imports, allow_failed = custom_imports(ctx)
    for i, module in enumerate(imports):
        top = module.split(".")[0]
        local = local_module_path(top, ctx.base_dir)
        if is_optional_package(top) and not installed(top) and local is None:
            continue  # a missing optional dependency: DA006
        err = errors.get(module)
        if err is None:
            continue
        hidden = (" (allow_failed_imports=True turns this into a log warning; the classes it registers "
                  "are missing)") if allow_failed else ""
        detail = err.message.splitlines()[0] if err.message and err.message != err.type else ""
        evidence = {"module": module, "exception": err.type, "detail": detail, "allow_failed_imports": allow_failed}
        missing = err.extra.get("missing_module")
        if err.type == "ModuleNotFoundError" and missing and missing.split(".")[0] == top and not installed(top):
            if local is not None:
                msg = (f"custom_imports module '{module}' is not importable: it lies under the launch directory "
                       f"({local}) but that directory is not on sys.path{hidden}")
                fix = f"run training with PYTHONPATH={ctx.base_dir} (or install the project: pip install -e .)"
                evidence["found_at"] = str(local)
            else:
                msg = f"custom_imports module '{module}' does not exist: no module named '{top}'{hidden}"
                fix = "fix the module name, or install the package that provides it"
        else:
            msg = (f"custom_imports module '{module}' fails to import: {err.type}: "
                   f"{evidence['detail']}{hidden}")
            fix = f"run `python -c 'import {module}'` and fix the error it raises"
        yield Violation(message=msg, key_path=f"custom_imports.imports.{i}", evidence=evidence, fix=fix)

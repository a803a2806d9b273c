import os
import re
from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.config import locate_build_failure, type_name
from detaudit.rule.packages import build_error_package


def _defining_module(type_name: str, root: Path, limit: int = 3000) -> str | None:
    """A module under ``root`` that defines ``class type_name``: what custom_imports should name."""
    pattern = re.compile(rf"^class {re.escape(type_name)}\b", re.M)
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "__pycache__",
                                                                                   "work_dirs", "data")]
        for fn in filenames:
            if not fn.endswith(".py"):
                continue
            seen += 1
            if seen > limit:
                return None
            path = Path(dirpath) / fn
            try:
                if pattern.search(path.read_text(encoding="utf-8", errors="ignore")):
                    rel = path.relative_to(root).with_suffix("")
                    parts = list(rel.parts)
                    if parts[-1] == "__init__":
                        parts.pop()
                    return ".".join(parts)
            except OSError:
                continue
    return None


def _why_unregistered(ctx, module: str | None) -> str:
    """Why the registry does not know a type, in config words: what custom_imports imports."""
    from detaudit.rule.packages import custom_imports

    try:
        imports, _ = custom_imports(ctx)
    except Exception:  # noqa: BLE001 - the config's custom_imports could not be read
        imports = []
    if module and module not in imports:
        return f"{module}, which defines it, is not among the config's custom_imports"
    if not imports:
        return ("the config has no custom_imports, so only mmdet's own classes are registered (a class of "
                "the project's own code is registered when custom_imports imports its module), or the name is "
                "misspelled")
    return (f"none of the modules custom_imports imports ({', '.join(imports)}) registers it, or the name is "
            "misspelled")


@rule(code="DA002", name="model-build-error", severity="error", tier="build", needs=("build_error", "constructors"))
def model_build_error(ctx):
    """The model does not build from the config.

    ## What it does
    Builds ``model`` through the registry on the CPU, as training would, and reports why it
    fails: a ``type`` no registry knows (naming the module ``custom_imports`` should import),
    a constructor argument the class does not take or a required one that is missing (with
    the key path to edit, e.g. ``model.roi_head.use_domain_loss``), or any exception raised
    inside ``__init__``.

    ## Why is this bad?
    The training job dies before the first iteration; everything the config sets after the
    broken key is untested.

    ## Example
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', use_domain_loss=True))  # not an argument
    ```

    ## Use instead
    ```python
    custom_imports = dict(imports=['detector'], allow_failed_imports=False)
    model = dict(roi_head=dict(type='MACLRoIHead', lambda3=0.1))
    ```
    """
    err = ctx.build_error
    if err is None:
        return
    if "DA006" in ctx.selected_codes and build_error_package(ctx):
        return  # a package that is not installed explains the failure: DA006 reports it
    cfg_model = ctx.cfg.get("model", None)
    message = err.message
    evidence = {"exception": err.type, "detail": message.splitlines()[0] if message else ""}
    where = locate_build_failure(message, cfg_model, "model")
    if where.kind == "unregistered":
        name, registry = where.argument, where.registry
        module = _defining_module(type_name(name), ctx.base_dir)
        hint = (f"add custom_imports=dict(imports=['{module}'], allow_failed_imports=False)" if module
                else "register the class (@MODELS.register_module()) and import its module through custom_imports")
        yield Violation(message=f"type '{name}' is not registered in the {registry} registry: "
                                f"{_why_unregistered(ctx, module)}",
                        key_path=where.key_path,
                        evidence=dict(evidence, type=name, registry=registry, defining_module=module), fix=hint)
        return
    cls_name = where.cls
    if where.kind == "unexpected-argument":
        arg = where.argument
        owner = where.key_path.rsplit(".", 1)[0] if where.key_path and where.key_path.endswith(f".{arg}") else None
        named = f"{owner} ({cls_name or 'a module'})" if owner else (cls_name or "a module")
        others = _also_rejected(ctx, cfg_model, owner, arg) if owner else []
        also = f" (nor {', '.join(repr(k) for k in others)}, next in the same dict)" if others else ""
        yield Violation(message=f"{named} does not take the argument '{arg}'{also}",
                        key_path=where.key_path, evidence=dict(evidence, argument=arg, cls=cls_name,
                                                               **({"also_rejected": others} if others else {})),
                        fix=f"remove '{arg}' or rename it to an argument {cls_name or 'the class'} accepts")
        return
    if where.kind == "missing-argument":
        args = where.missing
        yield Violation(message=f"{cls_name or 'a module'} is missing required argument(s): {', '.join(args)}",
                        key_path=where.key_path, evidence=dict(evidence, missing=args, cls=cls_name),
                        fix=f"set {', '.join(args)} under {where.key_path}")
        return
    raised_at = err.where() if err.file else None
    message = f"model failed to build: {err.short()}"
    if raised_at and raised_at not in message:
        message += f" (raised at {raised_at})"
    yield Violation(message=message, key_path=where.key_path,
                    evidence=dict(evidence, cls=cls_name, raised_at=raised_at),
                    fix="fix the file and line the message names; run with --debug for the full traceback")


def _also_rejected(ctx, model, owner: str, arg: str) -> list[str]:
    """The other keys of the dict the failure names that its constructor chain does not take either
    (Python stops at the first one; the user should hear of all of them at once)."""
    from detaudit.rule.config import value_at

    from ._component_dicts import constructors_of

    node = value_at(model, owner.split(".", 1)[1]) if "." in owner else model
    constructors = constructors_of(ctx)
    if not hasattr(node, "keys") or constructors is None:
        return []
    try:
        sig = constructors.signature(node.get("type"), owner, node)
    except Exception:  # noqa: BLE001 - no signature: the one argument named is all
        return []
    if sig is None or sig.params is None:
        return []
    return [k for k in node.keys() if k != arg and sig.accepts(k) is False]

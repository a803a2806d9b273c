import ast
from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.captured import assignment_snippet, captures, iter_files
from detaudit.rule.merge import where


def _same_file(shown: str, path: Path) -> bool:
    """Whether an assignment's file (as the source map shows it) is ``path``."""
    if not shown or shown.startswith("<"):
        return False
    tail = shown.split("::", 1)[-1]
    try:
        if Path(shown).resolve() == path.resolve():
            return True
    except (OSError, ValueError):
        pass
    return str(path).replace("\\", "/").endswith("/" + tail.lstrip("/")) if tail else False


def _in_config(cfg, key_path: str) -> bool:
    node = cfg
    for part in key_path.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, "get") and part in node:
            node = node[part]
        else:
            return False
    return True


def _brief(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[:limit - 4] + " ..." + text[-1] if text[-1] in ")]}" else text[:limit] + " ..."


def _value(cfg, key_path: str):
    node = cfg
    for part in key_path.split("."):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
    return node


def _final(history, key_path: str):
    """The assignment behind the value at ``key_path`` (or at its nearest ancestor with one)."""
    parts = key_path.split(".")
    while parts:
        a = history.final(".".join(parts))
        if a is not None:
            return a
        parts.pop()
    return None


def _reads_after(path: Path, name: str, line: int) -> bool:
    """Whether ``path`` reads ``name`` after ``line`` (its author made some dicts follow the new value)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return False
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and n.lineno > line
               for n in ast.walk(tree))


@rule(code="DA808", name="base-variable-redefined-after-use", severity="warning", tier="static",
      needs=("source_map", "key_history"))
def base_variable_redefined_after_use(ctx):
    """A config redefines a variable that a base file already read into its dicts.

    ## What it does
    Reads the syntax tree of every file the config inherits from and lists where a base's
    top-level dicts (loaders, evaluators, the model, the schedule...) read one of the base's
    own module-level variables (``data_root``, ``train_pipeline``, ``img_scale``,
    ``backend_args``, ``max_epochs``, a class tuple...). When a later file (the config itself,
    or a base between them) assigns that variable a different value while the dict still holds
    the base's value (nothing later wrote that key), each such key is reported with the
    variable, both values and the line that makes the dict follow the new value. When the file
    that redefines the variable also reads it afterwards (it rewrote some dicts with it, as a
    test-only config rewrites its evaluation loaders), the dicts it left alone are taken as chosen.

    ## Why is this bad?
    mmengine runs each config file on its own: a base's ``dict(data_root=data_root)`` holds the
    string, not the name. Redefining ``data_root`` in the child replaces the top-level
    ``data_root`` key and nothing else, so training still reads the base's folder; a redefined
    ``train_pipeline`` is never used by the loader; a new ``img_scale`` leaves every pipeline at
    the old size. Nothing fails: the run trains or evaluates something else than the config says.

    ## Example
    ```python
    _base_ = 'mmdet::cityscapes/faster-rcnn_r50_fpn_1x_cityscapes.py'
    data_root = '/datasets/cityscapes/'   # the loaders keep 'data/cityscapes/'
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::cityscapes/faster-rcnn_r50_fpn_1x_cityscapes.py'
    data_root = '/datasets/cityscapes/'
    train_dataloader = dict(dataset=dict(dataset=dict(data_root=data_root)))
    val_dataloader = dict(dataset=dict(data_root=data_root))
    test_dataloader = val_dataloader
    val_evaluator = dict(ann_file=data_root + 'annotations/instancesonly_filtered_gtFine_val.json')
    test_evaluator = val_evaluator
    ```

    ## References
    - mmengine "Config" tutorial: intermediate variables are resolved when their file is read
    """
    history = ctx.key_history
    cfg = ctx.cfg
    reported = set()
    files = list(iter_files(ctx.source_map.files))
    for path in files:
        for cap in captures(path):
            if cap.key_path in reported or not _in_config(cfg, cap.key_path):
                continue
            defs = history.of(cap.variable)
            mine = [a for a in defs if _same_file(a.file, path)]
            if not mine:
                continue
            base_def = mine[-1]
            later = [a for a in defs if a.stamp > base_def.stamp and not _same_file(a.file, path)]
            if not later:
                continue
            new = later[-1]
            if base_def.literal and new.literal and base_def.value == new.value:
                continue
            if cap.direct and cap.variable in cfg and _value(cfg, cap.key_path) == cfg[cap.variable]:
                continue  # the value held is the new one anyway (an expression giving the same result)
            new_file = next((f for f in files if _same_file(new.file, f)), None)
            if new_file is not None and _reads_after(new_file, cap.variable, new.line):
                continue  # the file that redefines it chose which dicts follow (a test-only config...)
            holder = _final(history, cap.key_path)
            if holder is None or not _same_file(holder.file, path) or holder.stamp > new.stamp:
                continue  # a later file wrote the key itself
            reported.add(cap.key_path)
            how = "is" if cap.direct else "was computed from"
            old, now = _brief(base_def.text), _brief(new.text)
            yield Violation(
                message=(f"{cap.key_path} still {how} the base's {cap.variable} = {old} "
                         f"({where(base_def)}): {where(new)} redefines {cap.variable} = {now}, which changes "
                         f"the top-level name only; the dict the base built at {where(holder)} keeps the old value"),
                key_path=cap.key_path, file=new.file if not new.file.startswith("<") else None,
                line=new.line or None,
                evidence={"variable": cap.variable, "base_value": base_def.text, "base_at": where(base_def),
                          "new_value": new.text, "redefined_at": where(new), "held_since": where(holder)},
                fix=f"also write {assignment_snippet(cap.key_path, cap.variable, cap.direct)} after {where(new)}")

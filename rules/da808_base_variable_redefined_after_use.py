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


def _final(history, key_path: str):
    """The assignment behind the value at ``key_path`` (or at its nearest ancestor with one)."""
    parts = key_path.split(".")
    while parts:
        a = history.final(".".join(parts))
        if a is not None:
            return a
        parts.pop()
    return None


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
    variable, both values and the line that makes the dict follow the new value.

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
    for path in iter_files(ctx.source_map.files):
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

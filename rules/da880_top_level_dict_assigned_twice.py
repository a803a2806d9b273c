import ast
from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.merge import RUNNER_KEYS


def _dict_keys(node, prefix: str = "") -> set[str] | None:
    """The dotted keys a dict literal or ``dict(...)`` call writes (nested dicts included), or None."""
    pairs = []
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # ``**other``: what it brings cannot be listed
            return None
        pairs = [(k.value, v) for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)]
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            return None
        pairs = [(kw.arg, kw.value) for kw in node.keywords]
    else:
        return None
    keys: set[str] = set()
    for name, value in pairs:
        path = f"{prefix}{name}"
        keys.add(path)
        inner = _dict_keys(value, path + ".")
        keys |= inner or set()
    return keys


def _reads(node, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))


@rule(code="DA880", name="top-level-dict-assigned-twice", severity="warning", tier="static")
def top_level_dict_assigned_twice(ctx):
    """A config file assigns the same top-level dict twice; the second drops what the first set.

    ## What it does
    Reads the config file's own top-level assignments and finds a key the Runner reads
    (``train_dataloader``, ``default_hooks``, ``model``...) assigned a dict twice, with nothing reading the first dict in
    between (a helper variable used for one dataset, then rewritten for the next, is not one).
    Reports the keys the first assignment writes that the second does not, with both lines.

    ## Why is this bad?
    Inheritance merges a file's dict into its bases' dicts, which makes it natural to write a
    dict in parts. Inside one file there is no merge: the file is Python, the second assignment
    replaces the first, and only the second reaches the merge with the bases. The first dict's
    keys (a pipeline, a checkpoint hook's type, a dataset's metainfo) are lost without a word;
    the base's values stand in for them, or a component lacks a key and fails when built.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
    # ...
    train_dataloader = dict(batch_size=2, num_workers=2)  # the pipeline above is gone
    ```

    ## Use instead
    ```python
    train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(pipeline=train_pipeline))
    ```
    """
    path = ctx.config_path
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8")) if path and Path(path).is_file() else None
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        tree = None
    if tree is None:
        return
    first: dict[str, tuple[int, set[str]]] = {}
    for stmt in tree.body:
        for name in [n for n in first if _reads(stmt, n)]:
            first.pop(name)  # the first dict was used before the second replaced it: a variable reused on purpose
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        name = stmt.targets[0].id
        if name not in RUNNER_KEYS:  # a helper variable's dead first value loses nothing the Runner reads
            continue
        keys = _dict_keys(stmt.value)
        if keys is None:
            first.pop(name, None)
            continue
        if name in first:
            line, earlier = first[name]
            gone = earlier - keys
            lost = sorted(k for k in gone if not any(o.startswith(k + ".") for o in gone))  # the leaves: what is lost
            if lost:
                shown = ", ".join(f"{name}.{k}" for k in lost[:6]) + (f" and {len(lost) - 6} more" if len(lost) > 6
                                                                       else "")
                yield Violation(
                    message=(f"{name} is assigned a dict at line {line} and again at line {stmt.lineno} of this file: "
                             f"the second replaces the first (one file is not merged), so {shown} never reach "
                             "the config"),
                    key_path=name,
                    evidence={"name": name, "first_line": line, "second_line": stmt.lineno, "lost": lost},
                    fix=f"write {name} once, with the keys of both dicts (or update it: {name}.update(...))")
        first[name] = (stmt.lineno, keys)

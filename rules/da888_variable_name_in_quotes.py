from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping
from detaudit.rule.merge import where

# keys whose value is a structure or a path, never the name of a config variable (lists of names, as
# meta_keys and ignore_keys hold, are left alone)
STRUCTURED = {"type", "pipeline", "transforms", "dataset", "datasets", "metainfo", "classes", "data_root",
              "ann_file", "data_prefix", "backend_args", "img_scale", "scale", "model", "test_cfg", "train_cfg"}


def _strings(node, path: str):
    if is_mapping(node):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}.{i}")
    elif isinstance(node, str):
        yield path, node


@rule(code="DA888", name="variable-name-in-quotes", severity="error", tier="static", needs=("source_map",))
def variable_name_in_quotes(ctx):
    """A value that is the name of one of the config's own variables, written in quotes.

    ## What it does
    Collects the config's top-level names that hold a value other than their own name
    (``train_pipeline``, ``dataset_type``, ``data_root``, ``metainfo``...) and reports a string
    that is exactly one of them given to a key that takes a structure or a path (``type``,
    ``pipeline``, ``dataset``, ``metainfo``, ``data_root``, ``ann_file``...): ``pipeline='train_pipeline'``.

    ## Why is this bad?
    In a Python config a quoted name is a string, not the variable: the dataset gets the text
    ``'train_pipeline'`` as its pipeline (``TypeError: transform must be callable or a dict``),
    ``type='dataset_type'`` names no registered class, ``data_root='data_root'`` a folder called
    ``data_root``. Configs dumped from a run show these values as written, so the mistake survives
    copying.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='dataset_type', pipeline='train_pipeline'))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type=dataset_type, pipeline=train_pipeline))
    ```
    """
    names = {k: v for k, v in ctx.cfg.items() if isinstance(k, str) and "_" in k and not k.startswith("_")
             and not (isinstance(v, str) and v == k)}
    sm, seen = ctx.source_map, set()
    for top, node in ctx.cfg.items():
        if not isinstance(top, str) or top.startswith("_"):
            continue
        for path, value in _strings(node, top):
            key = path.rsplit(".", 1)[-1]
            if value in names and key in STRUCTURED and key != value:
                written = where(sm.locate(path))
                if written in seen:  # test_dataloader = val_dataloader: one value, said once
                    continue
                seen.add(written)
                shown = repr(names[value])
                yield Violation(
                    message=(f"{path} = {value!r} is the name of the config's variable {value} in quotes: the value "
                             f"is that text, not {shown[:60] + ('...' if len(shown) > 60 else '')}"),
                    key_path=path, evidence={"variable": value},
                    fix=f"write {path.rsplit('.', 1)[-1]}={value} without quotes")

import ast
import difflib
from pathlib import Path

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves
from detaudit.rule.merge import RUNNER_KEYS

# keys that make a dict look like settings meant for a component the Runner builds
SETTING_KEYS = frozenset({"type", "dataset", "pipeline", "filter_cfg", "batch_size", "metainfo", "ann_file",
                          "data_root", "data_prefix", "max_epochs", "max_iters", "lr", "interval", "num_workers",
                          "sampler", "optimizer", "milestones", "num_classes", "classes", "palette"})
# MMDetection 2.x keys: DA003 reports them, with their 3.x replacement
LEGACY = frozenset({"data", "optimizer", "optimizer_config", "lr_config", "momentum_config", "runner", "total_epochs",
                    "evaluation", "checkpoint_config", "log_config", "workflow", "dist_params", "resume_from", "fp16",
                    "gpu_ids", "img_norm_cfg"})
# where a dict with such a name is read from, when the name says so
HOMES = {"train_dataset": "train_dataloader.dataset", "val_dataset": "val_dataloader.dataset",
         "test_dataset": "test_dataloader.dataset", "optimizer": "optim_wrapper.optimizer",
         "evaluation": "val_evaluator / train_cfg.val_interval", "checkpoint_config": "default_hooks.checkpoint",
         "lr_config": "param_scheduler", "runner": "train_cfg",
         "metainfo": "the datasets' metainfo (train_dataloader.dataset.metainfo, and val/test)"}


def _names_read(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
        c.value for c in ast.walk(tree) if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def _dict_keys(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {kw.arg for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return set()


def _nested_keys(node: ast.AST, depth: int = 0) -> set[str]:
    keys = _dict_keys(node)
    if depth < 4:
        for child in ast.iter_child_nodes(node):
            keys |= _nested_keys(child, depth + 1)
    return keys


@rule(code="DA810", name="top-level-dict-nothing-reads", severity="warning", tier="static", needs=("source_map",))
def top_level_dict_nothing_reads(ctx):
    """The config sets a top-level dict of component settings that nothing reads.

    ## What it does
    Lists the top-level names the audited file assigns a dict to that hold component settings
    (``dataset``, ``pipeline``, ``filter_cfg``, ``batch_size``, ``type``...), when the name is not
    a key mmengine's Runner reads, no file of the config (the audited one or a base) reads the
    name, and no base defines it. Such a dict has no effect: the Runner builds only from its own
    keys, and mmengine merges a child's dict into the key of the same name, never into another.
    The key the settings were probably meant for is named when the name suggests it.
    (Legacy 2.x keys are DA003's.) A top-level ``data_preprocessor`` is read by the Runner, but only
    for a model dict that has none: when the model has its own and the two differ, the top-level
    one is reported too.

    ## Why is this bad?
    ``train_dataset = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=False)))`` on a base
    that has no ``train_dataset`` variable changes nothing: images without boxes are still
    filtered out, and nothing says so.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataset = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=False, min_size=32)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataloader = dict(dataset=dict(filter_cfg=dict(filter_empty_gt=False, min_size=32)))
    ```
    """
    yield from _preprocessor_shadowed(ctx.cfg)
    path = ctx.config_path
    if path is None or not Path(path).is_file():
        return
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return
    files = [Path(f) for f in ctx.source_map.files]
    bases = [f for f in files if f.resolve() != Path(path).resolve()]
    read = set().union(*(_names_read(f) for f in files)) if files else _names_read(Path(path))
    defined_by_bases = set()
    for f in bases:
        try:
            for stmt in ast.parse(f.read_text(encoding="utf-8")).body:
                if isinstance(stmt, ast.Assign):
                    defined_by_bases |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            continue
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        name = stmt.targets[0].id
        if name.startswith("_") or name in RUNNER_KEYS or name in LEGACY or name in read or name in defined_by_bases:
            continue
        keys = _nested_keys(stmt.value)
        if not _dict_keys(stmt.value) or not keys & SETTING_KEYS:
            continue
        home = HOMES.get(name) or next(iter(difflib.get_close_matches(name, sorted(RUNNER_KEYS), n=1, cutoff=0.6)), None)
        if name == "metainfo":  # the datasets behind the loaders, wrappers looked through
            leaves = [f"{path}.metainfo" for _, path, _ in dataset_leaves(ctx.cfg)]
            home = ", ".join(dict.fromkeys(leaves)) or home
        yield Violation(
            message=(f"{name} (line {stmt.lineno}) holds settings ({', '.join(sorted(keys & SETTING_KEYS))}) that nothing "
                     f"reads: it is not a key the Runner builds from, no file of this config refers to it, and mmengine "
                     f"merges it into no other key" + (f"; these settings belong under {home}" if home else "")),
            key_path=name, line=stmt.lineno, evidence={"keys": sorted(keys), "meant_for": home},
            fix=f"write the settings under {home}" if home else "move the settings under the key the Runner reads, or delete them")


def _preprocessor_shadowed(cfg):
    """A top-level ``data_preprocessor`` the model never receives: mmengine's Runner gives it to the
    model dict only when that dict has none (``model.setdefault('data_preprocessor', ...)``)."""
    top, model = cfg.get("data_preprocessor", None), cfg.get("model", None)
    own = model.get("data_preprocessor", None) if hasattr(model, "get") else None
    if not hasattr(top, "items") or not hasattr(own, "items") or _plain(top) == _plain(own):
        return
    differ = sorted(k for k in set(top) | set(own) if k != "_scope_" and _plain(top.get(k)) != _plain(own.get(k)))
    shown = "; ".join(f"{k}: {_plain(own.get(k))!r} is used, {_plain(top.get(k))!r} is not" for k in differ[:4])
    yield Violation(
        message=(f"data_preprocessor is set at the top level and model.data_preprocessor too: mmengine's Runner "
                 f"passes the top-level one to the model only when the model has none, so the model keeps its own "
                 f"({shown})"),
        key_path="model.data_preprocessor", evidence={"differ": differ},
        fix="write the settings under model.data_preprocessor (model = dict(data_preprocessor=...))")


def _plain(v):
    if hasattr(v, "items"):
        return {k: _plain(x) for k, x in v.items() if k != "_scope_"}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v

import os
import platform
import re
from pathlib import Path, PurePosixPath

from detaudit.rule import Violation, rule

from detaudit.rule.config import dataset_leaves, is_mapping

WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
REMOTE = re.compile(r"^[a-z][\w+.-]*://", re.I)
EVALUATORS = ("val_evaluator", "test_evaluator")


def _is_remote(ds) -> bool:
    """Data read through a storage backend other than the local disk (petrel, S3, HTTP)."""
    backend = ds.get("backend_args", None)
    if is_mapping(backend) and str(backend.get("backend", "local")) not in ("local", "disk"):
        return True
    return False


def _join(root, rel: str) -> str:
    """mmengine's BaseDataset: a relative ann_file/prefix is joined to data_root."""
    if not root or os.path.isabs(rel) or WINDOWS_PATH.match(rel) or REMOTE.match(rel):
        return rel
    return str(PurePosixPath(root) / rel) if "/" in root or "/" in rel else os.path.join(root, rel)


def _paths(path: str, ds):
    """(key path, path as the dataset resolves it, data_root it hangs from or None)."""
    root = ds.get("data_root", None)
    root = root if isinstance(root, str) and root else None
    if root:
        yield f"{path}.data_root", root, None
    ann = ds.get("ann_file", None)
    if isinstance(ann, str) and ann:
        yield f"{path}.ann_file", _join(root, ann), root
    prefix = ds.get("data_prefix", None)
    if is_mapping(prefix):
        for k in list(prefix.keys()):
            v = prefix[k]
            if isinstance(v, str) and v:
                yield f"{path}.data_prefix.{k}", _join(root, v), root
    elif isinstance(prefix, str) and prefix:
        yield f"{path}.data_prefix", _join(root, prefix), root
    proposals = ds.get("proposal_file", None)
    if isinstance(proposals, str) and proposals:
        yield f"{path}.proposal_file", _join(root, proposals), root


def _label(key: str) -> str:
    """``train_dataloader.dataset.data_prefix.img`` -> ``data_prefix.img``."""
    parts = key.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 and parts[-2] == "data_prefix" else parts[-1]


def _evaluator_files(cfg):
    for name in EVALUATORS:
        ev = cfg.get(name, None)
        items = ev if isinstance(ev, (list, tuple)) else [ev]
        for i, e in enumerate(items):
            if is_mapping(e) and isinstance(e.get("ann_file", None), str) and e.get("ann_file"):
                key = f"{name}.{i}.ann_file" if isinstance(ev, (list, tuple)) else f"{name}.ann_file"
                yield key, e["ann_file"]


@rule(code="DA603", name="dataset-path-missing", severity="warning", tier="static")
def dataset_path_missing(ctx):
    """A dataset path in the config does not exist on this machine.

    ## What it does
    Resolves ``data_root``, ``ann_file``, ``data_prefix`` entries and ``proposal_file`` of
    every dataset behind the dataloaders (relative ones joined to ``data_root`` as
    mmengine does, then to the launch directory), and the evaluators' ``ann_file``, and
    reports each path that does not exist, once, however many dataloaders use it. A
    missing ``data_root`` is reported instead of everything under it. Windows paths
    (``C:/KAIST_processed/``) on a POSIX machine are named as such. Paths read through a
    remote storage backend are not checked.

    ## Why is this bad?
    The job fails when the dataset is built, or for a validation set only at the end of
    the first epoch. On a cluster the data usually lives elsewhere than on the machine
    where the config was written, and a path copied from a Windows workstation can never
    work on a Linux node.

    ## Example
    ```python
    data_root = 'C:/KAIST_processed/'
    train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='train.json'))
    ```

    ## Use instead
    ```python
    data_root = 'data/KAIST_processed/'  # relative to the directory training starts in
    train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='train.json'))
    ```
    """
    cfg = ctx.cfg
    found: dict[str, dict] = {}
    missing_roots: set[str] = set()

    def check(key, value, root):
        if REMOTE.match(value):
            return
        if value in found:
            found[value]["keys"].append(key)
            return
        norm = os.path.normpath(value)
        if any(norm == r or norm.startswith(r + os.sep) for r in missing_roots) \
                or (root is not None and os.path.normpath(root) in missing_roots):
            return  # the missing data_root's finding covers it
        windows = bool(WINDOWS_PATH.match(value)) and os.name != "nt"
        target = Path(value).expanduser()
        if not target.is_absolute():
            target = ctx.base_dir / target
        if not windows and target.exists():
            return
        if key.endswith(".data_root"):
            missing_roots.add(norm)
        entry = found.setdefault(value, {"keys": [], "windows": windows, "absolute": str(target)})
        entry["keys"].append(key)

    for loader, path, ds in dataset_leaves(cfg):
        if _is_remote(ds):
            continue
        for key, value, root in _paths(path, ds):
            check(key, value, root)
    for key, value in _evaluator_files(cfg):
        check(key, value, None)

    for value, entry in found.items():
        keys = entry["keys"]
        first = keys[0]
        what = _label(first)
        others = f" (also used by {len(keys) - 1} more key(s))" if len(keys) > 1 else ""
        if entry["windows"]:
            message = (f"{what} '{value}' is a Windows path: it cannot exist on this {platform.system()} "
                       f"machine{others}")
            fix = "use a POSIX path, relative to the launch directory or absolute on the training machine"
        else:
            message = f"{what} '{value}' does not exist (tried {entry['absolute']}){others}"
            fix = ("create or mount the data there, or point the config at it (paths without a leading / are "
                   f"relative to the launch directory {ctx.base_dir})")
        yield Violation(message=message, key_path=first,
                        evidence={"path": value, "absolute": entry["absolute"], "keys": keys,
                                  "windows_path": entry["windows"], "launch_dir": str(ctx.base_dir)},
                        fix=fix)

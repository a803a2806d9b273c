import posixpath

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves, is_mapping


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")) if path else ""


def _repeats(root: str, value) -> bool:
    """Whether a relative path already starts with the relative ``data_root`` it will be joined to."""
    if not (isinstance(value, str) and value and isinstance(root, str) and root):
        return False
    if posixpath.isabs(value) or posixpath.isabs(root) or "://" in value or "://" in root:
        return False
    r, v = _norm(root), _norm(value)
    return bool(r) and r not in (".", "") and (v == r or v.startswith(r + "/"))


@rule(code="DA875", name="path-repeats-data-root", severity="error", tier="static", needs=())
def path_repeats_data_root(ctx):
    """A dataset's ``ann_file`` or ``data_prefix`` already starts with its ``data_root``.

    ## What it does
    For each dataset the dataloaders read (through wrappers), reports an ``ann_file`` or a
    ``data_prefix`` entry that is a relative path beginning with the dataset's own relative
    ``data_root``: mmengine joins ``data_root`` in front of every relative path, so the dataset
    reads ``data_root`` twice (``data/cityscapes/data/cityscapes/leftImg8bit/train``).

    ## Why is this bad?
    2.x configs wrote full paths (``img_prefix=data_root + 'train/'``); 3.x joins them itself.
    Writing ``data_prefix=dict(img=data_root + 'train/')`` beside ``data_root=data_root`` is
    the usual result: the dataset finds no annotation file, or no image, after the model and the
    data pipeline were built.

    ## Example
    ```python
    data_root = 'data/cityscapes/'
    train_dataloader = dict(dataset=dict(data_root=data_root,
                                         data_prefix=dict(img=data_root + 'leftImg8bit/train/')))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix=dict(img='leftImg8bit/train/')))
    ```
    """
    seen = set()
    for _loader, path, ds in dataset_leaves(ctx.cfg):
        root = ds.get("data_root", None)
        candidates = [("ann_file", ds.get("ann_file", None))]
        prefix = ds.get("data_prefix", None)
        if is_mapping(prefix):
            candidates += [(f"data_prefix.{k}", v) for k, v in prefix.items()]
        for key, value in candidates:
            if not _repeats(root, value) or (root, key, value) in seen:
                continue
            seen.add((root, key, value))
            rest = _norm(value)[len(_norm(root)):].lstrip("/")
            yield Violation(
                message=(f"{path}.{key}={value!r} already starts with its data_root={root!r}, which mmengine joins "
                         f"in front of it: the dataset reads {posixpath.join(root, value)!r}"),
                key_path=f"{path}.{key}",
                evidence={"data_root": root, key: value, "read": posixpath.join(root, value)},
                fix=f"write {key} relative to data_root: {rest!r}")

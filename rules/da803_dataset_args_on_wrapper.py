from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import DATALOADERS, is_mapping, node_type
from detaudit.rule.merge import WRAPPER_ARGS, where

# Arguments of the dataset itself (mmengine's BaseDataset and mmdet's BaseDetDataset).
DATASET_ARGS = ("data_root", "ann_file", "data_prefix", "metainfo", "pipeline", "filter_cfg", "backend_args",
                "test_mode", "img_prefix", "seg_prefix", "classes")


def _wrappers(node, path, depth=0):
    """(key path, dict, inner key) of every dataset wrapper under a dataloader's dataset:
    a dict that holds its dataset(s) under ``dataset`` or ``datasets``."""
    if depth > 8 or not is_mapping(node):
        return
    inner = node.get("datasets", None)
    if isinstance(inner, (list, tuple)):
        yield path, node, "datasets"
        for i, d in enumerate(inner):
            yield from _wrappers(d, f"{path}.datasets.{i}", depth + 1)
    elif is_mapping(node.get("dataset", None)):
        yield path, node, "dataset"
        yield from _wrappers(node["dataset"], f"{path}.dataset", depth + 1)


@rule(code="DA803", name="dataset-args-on-wrapper", severity="error", tier="static",
      needs=("type_changes", "constructors", "source_map"))
def dataset_args_on_wrapper(ctx):
    """Dataset arguments are written on a dataset wrapper instead of the dataset inside it.

    ## What it does
    Looks at every dataset wrapper under the dataloaders (``RepeatDataset``,
    ``ClassBalancedDataset``, ``MultiImageMixDataset``, ``ConcatDataset``, or any dict that
    holds its dataset under ``dataset``/``datasets``) for the arguments of a dataset:
    ``data_root``, ``ann_file``, ``data_prefix``, ``metainfo``, ``pipeline``, ``filter_cfg``,
    ``backend_args``, ``test_mode``. Those the wrapper's constructor does not take (read from
    its signature; under ``--no-exec``, from the known wrappers' arguments) are reported with
    the line that wrote them and the key path where they belong. Keys a wrapper kept from a
    base dataset dict whose type it replaced are DA801's.

    ## Why is this bad?
    A base config such as ``voc0712.py`` or ``ms-poly-3x`` wraps its dataset in a
    ``RepeatDataset``, so ``train_dataloader.dataset`` is the wrapper and the real dataset is
    one level down. A child that writes ``dataset=dict(data_root=..., pipeline=...)`` puts
    them on the wrapper: training stops with ``TypeError: RepeatDataset.__init__() got an
    unexpected keyword argument 'pipeline'``, or, on a wrapper that happens to take the key
    (``MultiImageMixDataset`` takes a ``pipeline`` of its own), changes something else than
    intended.

    ## Example
    ```python
    _base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'  # dataset = RepeatDataset(...)
    train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
    train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
    ```
    """
    try:
        constructors = ctx.constructors
    except FactUnavailable:
        constructors = None  # --no-exec: the known wrappers' arguments
    kept_by_change = {c.key_path: set(c.kept) for c in ctx.type_changes}
    sm = ctx.source_map
    cfg = ctx.cfg
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for path, wrapper, inner_key in _wrappers(dl.get("dataset", None), f"{loader}.dataset"):
            kind = node_type(wrapper) or "wrapper"
            sig = None
            if constructors is not None and wrapper.get("type", None) is not None:
                sig = constructors.signature(wrapper.get("type"), path, wrapper)
            accepted = sig.params if sig is not None else WRAPPER_ARGS.get(kind)
            if accepted is None:
                continue  # a wrapper whose arguments cannot be known: not judged
            misplaced = [k for k in DATASET_ARGS
                         if k in wrapper and k not in accepted and k not in kept_by_change.get(path, ())]
            if not misplaced:
                continue
            inner = f"{path}.{inner_key}" + (".N" if inner_key == "datasets" else "")
            listed = ", ".join(f"{k} ({where(sm.locate(f'{path}.{k}'))})" for k in misplaced)
            yield Violation(
                message=(f"{path} is a {kind} (its dataset is {inner}), but it is given dataset argument(s) "
                         f"{listed}: they belong to the dataset inside it; {kind} does not accept them, so "
                         f"building it raises TypeError"),
                key_path=f"{path}.{misplaced[0]}",
                evidence={"wrapper": kind, "misplaced": misplaced, "inner": inner,
                          "accepted": sorted(accepted)},
                fix=f"move {', '.join(misplaced)} into {inner} (e.g. {loader}=dict(dataset=dict({inner_key}="
                    f"dict({misplaced[0]}=...))))")

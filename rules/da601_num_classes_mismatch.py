from detaudit.rule import Violation, rule

from detaudit.rule.classes import dataset_classes
from detaudit.rule.config import (benchmark_at_own_paths, counts_object_classes, dataset_leaves, is_prompt_detector,
                                  module_key, proposal_heads)


def class_heads(model) -> list[tuple[str, object, int]]:
    """(module path, module, num_classes) for modules whose class count should match the
    dataset: every module with an integer ``num_classes`` except proposal heads (by their role
    in the detector, whatever their type), semantic, re-id and tracking heads, and not the
    submodules (losses...) of one already listed."""
    out = []
    proposing = proposal_heads(model)
    for name, module in model.named_modules():
        n = getattr(module, "num_classes", None)
        if not name or not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            continue
        if any(name == p or name.startswith(p + ".") for p in proposing) or not counts_object_classes(name):
            continue
        if any(name.startswith(p + ".") and n == k for p, _, k in out):
            continue
        out.append((name, module, n))
    return out


def _key_for(ctx, module_path: str) -> str:
    key = f"model.{module_path}.num_classes"
    if ctx.config_value(key, None) is not None:
        return key
    return module_key(ctx, module_path)


@rule(code="DA601", name="num-classes-mismatch", severity="error", tier="build", needs=("model",))
def num_classes_mismatch(ctx):
    """A head's ``num_classes`` differs from the number of classes of a dataset.

    ## What it does
    Compares the ``num_classes`` of every head in the built model with the classes of the
    dataset behind each of ``train_dataloader``, ``val_dataloader`` and ``test_dataloader``:
    ``metainfo.classes`` when the config gives them, otherwise the dataset type's default
    classes. Panoptic datasets also accept their thing and stuff counts. Proposal heads are
    excluded by their role, whatever their type (a detector's ``rpn_head``, the head of an
    ``RPN`` detector, which forces one class), and so are semantic segmentation,
    re-identification and tracking heads; text-prompted detectors such as GLIP and Grounding
    DINO are skipped. Heads of the same size that mismatch the same datasets (cascade stages,
    a mask head) are one finding; when the datasets are a benchmark at its own paths, the fix
    names the heads. When another dataset fits the head through its own ``metainfo`` and the
    mismatching ones take their type's default classes (custom classes given to the training
    set only), the finding names the mismatching datasets' ``metainfo`` instead.

    ## Why is this bad?
    A head with more outputs than the dataset has classes trains the extra logits only
    as background and may predict labels that do not exist; a head with fewer raises an
    index error at the first ground truth of a higher label, or silently drops those
    classes. The usual cause is a dataset whose ``metainfo`` was forgotten, so it falls
    back to COCO's 80 classes while the head was set to 1.

    ## Example
    ```python
    model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person',)), ...))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('person',)), ...))
    ```
    """
    cfg = ctx.cfg
    if is_prompt_detector(cfg.get("model", None)):
        return
    loaders = {}  # dataset key path -> (dataloader, (fitting sizes, classes, source), dataset dict)
    for loader, path, ds in dataset_leaves(cfg):
        info = dataset_classes(ds)
        if info is not None:
            loaders[path] = (loader, info, ds)
    if not loaders:
        return
    heads = class_heads(ctx.model)
    # one finding per root cause: heads of the same size that mismatch the same datasets
    groups: dict[tuple, list[tuple[str, object]]] = {}
    for name, module, n in heads:
        bad = tuple(path for path, (_, info, _) in loaders.items() if n not in info[0])
        if bad:
            groups.setdefault((n, bad), []).append((name, module))
    for (n, paths), members in groups.items():
        bad = [(loaders[p][0], p, loaders[p][1]) for p in paths]
        names = [name for name, _ in members]
        types = ", ".join(dict.fromkeys(type(module).__name__ for _, module in members))
        counts = sorted({info[1] for _, _, info in bad})
        described = "; ".join(f"{path}: {info[1]} class{'es' if info[1] != 1 else ''} from {info[2]}"
                              for _, path, info in bad[:3])
        if len(names) == 1:
            subject = f"{names[0]} ({types}) has"
        elif len(names) <= 3:
            subject = f"{', '.join(names)} ({types}) have"
        else:
            subject = f"{names[0]}, {names[1]} and {len(names) - 2} more heads ({types}) have"
        benchmarks = all(benchmark_at_own_paths(loaders[p][2]) for p in paths)
        if benchmarks and len(counts) == 1:
            fix = (f"the datasets are the benchmark at its own paths, so their {counts[0]} classes are right: set "
                   f"num_classes={counts[0]} on {', '.join(names)} (or, to train other classes, give the "
                   "datasets metainfo=dict(classes=...) and data of those classes)")
        else:
            fix = ((f"set num_classes={counts[0]} on {', '.join(names)}" if len(counts) == 1 else
                    "give every dataloader's dataset the same metainfo.classes and match num_classes to it")
                   + " (or give the datasets metainfo=dict(classes=...) with the classes the head was sized for)")
        # A dataset that fits the head through its own metainfo, beside ones left at their type's default
        # classes: the head is right, and the others miss that metainfo (given to the training set only).
        fitting = [p for p, (_, info, _) in loaders.items() if p not in paths and n in info[0]
                   and info[2].startswith("metainfo.")]
        defaulted = all(not info[2].startswith("metainfo.") for _, _, info in bad)
        key_path, also = _key_for(ctx, names[0]), ""
        if fitting and defaulted:
            key_path = f"{bad[0][1]}.metainfo"
            also = (f"; {fitting[0]} has {n} from its metainfo, so {', '.join(p for _, p, _ in bad)} miss that "
                    f"metainfo")
            fix = f"give {', '.join(p for _, p, _ in bad)} the metainfo of {fitting[0]}"
        yield Violation(
            message=(f"{subject} num_classes={n} but the dataset of "
                     f"{', '.join(dict.fromkeys(l for l, _, _ in bad))} has "
                     f"{' / '.join(str(c) for c in counts)} class{'es' if counts != [1] else ''} ({described}){also}"),
            key_path=key_path, module_path=names[0],
            evidence={"num_classes": n, "heads": names, "dataset_classes": {path: info[1] for _, path, info in bad},
                      "class_source": {path: info[2] for _, path, info in bad},
                      "benchmark_at_own_paths": benchmarks},
            fix=fix,
        )


"""Walking loaded configs: type names, dicts with their key paths, datasets behind their
wrappers, test pipelines, heads that carry a class count."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

DATALOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")

# Heads whose class count is not the dataset's object classes by design.
NOT_OBJECT_CLASS_HEADS = ("rpn", "semantic", "seg_head", "reid", "track_head", "language", "text")
# Detectors that take their classes from text prompts, not from a fixed head size.
PROMPT_DETECTORS = ("GLIP", "GroundingDINO", "MMGroundingDINO", "DINOv2Grounding")


def type_name(t: Any) -> str | None:
    """``'mmdet.FasterRCNN'`` -> ``'FasterRCNN'``; a class -> its name."""
    if isinstance(t, str):
        return t.split(".")[-1]
    if t is None:
        return None
    return getattr(t, "__name__", None)


def is_mapping(node: Any) -> bool:
    return hasattr(node, "keys") and hasattr(node, "get")


def number(value: Any) -> int | float | None:
    """``value`` when it is an int or a float (not a bool), else None."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def value_at(node: Any, path: str, default=None):
    """The value at a dotted ``path`` (list indices as numbers), or ``default``; ``""`` is ``node``."""
    if path == "":
        return node
    for part in path.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif is_mapping(node) and part in node:
            node = node[part]
        else:
            return default
    return node


def annotation_file(ds: Any) -> str | None:
    """The annotation file a dataset reads: ``ann_file`` under ``data_root`` unless absolute
    (mmengine's ``BaseDataset._join_prefix``)."""
    import posixpath

    ann = ds.get("ann_file", None)
    if not isinstance(ann, str) or not ann:
        return None
    root = ds.get("data_root", None)
    if isinstance(root, str) and root and not posixpath.isabs(ann) and "://" not in ann:
        ann = posixpath.join(root, ann)
    return posixpath.normpath(ann)


def node_type(node: Any) -> str:
    """The type name of a config dict (``''`` when it has none)."""
    return (type_name(node.get("type")) or "") if is_mapping(node) else ""


def find_typed(node: Any, name: str, path: str) -> Iterator[tuple[str, Any]]:
    """(key path, dict) of every config dict under ``node`` whose type is ``name``."""
    return ((p, d) for p, d in walk_dicts(node, path) if node_type(d) == name)


def dicts_with(node: Any, key: str, path: str) -> Iterator[tuple[str, Any]]:
    """(key path, dict) of every config dict under ``node`` that sets ``key`` to a dict."""
    return ((p, d) for p, d in walk_dicts(node, path) if is_mapping(d.get(key, None)))


def walk_dicts(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(key path, mapping) for every mapping under ``node``, ``node`` included."""
    if is_mapping(node):
        yield path, node
        for k in list(node.keys()):
            yield from walk_dicts(node[k], f"{path}.{k}")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from walk_dicts(v, f"{path}.{i}")


def dataset_leaves(cfg) -> Iterator[tuple[str, str, Any]]:
    """(dataloader name, key path, dataset dict) for every real dataset behind the
    ``*_dataloader`` entries, looking through wrappers (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ``ClassBalancedDataset``, ``MultiImageMixDataset``...)."""
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
            continue
        for path, ds in datasets_under(dl["dataset"], f"{loader}.dataset"):
            yield loader, path, ds


def datasets_under(ds: Any, path: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(key path, dataset dict) of the real datasets inside one dataset entry, through
    ``ConcatDataset.datasets`` and the ``dataset`` of wrappers."""
    if depth > 8 or not is_mapping(ds):
        return
    inner = ds.get("datasets", None)
    if isinstance(inner, (list, tuple)) and inner:
        for i, d in enumerate(inner):
            yield from datasets_under(d, f"{path}.datasets.{i}", depth + 1)
        return
    if is_mapping(ds.get("dataset", None)):
        yield from datasets_under(ds["dataset"], f"{path}.dataset", depth + 1)
        return
    one = ds.get("dataset", None)
    if isinstance(one, (list, tuple)) and one and all(is_mapping(d) for d in one):  # a wrapper given a list (DA840)
        for i, d in enumerate(one):
            yield from datasets_under(d, f"{path}.dataset.{i}", depth + 1)
        return
    yield path, ds


TEST_LOADERS = ("test_dataloader", "val_dataloader")


def config_pipelines(cfg) -> list[tuple[str, list]]:
    """(key path, pipeline) of the test and val dataloaders (through dataset wrappers), then
    the top-level ``test_pipeline``/``val_pipeline`` when no dataloader has one."""
    out = []
    for loader in TEST_LOADERS:
        ds = cfg.get(loader, None)
        ds = ds.get("dataset", None) if is_mapping(ds) else None
        path = f"{loader}.dataset"
        while is_mapping(ds) and "pipeline" not in ds and is_mapping(ds.get("dataset")):
            ds, path = ds["dataset"], f"{path}.dataset"
        if is_mapping(ds) and isinstance(ds.get("pipeline"), (list, tuple)):
            out.append((f"{path}.pipeline", list(ds["pipeline"])))
    if not out:
        for key in ("test_pipeline", "val_pipeline"):
            if isinstance(cfg.get(key, None), (list, tuple)):
                out.append((key, list(cfg[key])))
    return out


# Dataset types whose default classes are an annotation taxonomy that evaluation needs,
# not the classes a head predicts (MOT: pedestrians plus distractors, occluders...).
TAXONOMY_DEFAULTS = ("MOTChallengeDataset",)


def metainfo_classes(ds: Any) -> list | None:
    meta = ds.get("metainfo", None)
    if is_mapping(meta):
        classes = meta.get("classes", None)
        if isinstance(classes, (list, tuple)) and classes:
            return list(classes)
        if isinstance(classes, str) and classes:
            return [classes]
    return None


def is_prompt_detector(model_cfg: Any) -> bool:
    return is_mapping(model_cfg) and type_name(model_cfg.get("type")) in PROMPT_DETECTORS


def proposal_heads(model) -> list[str]:
    """Module paths of the heads that propose regions (objectness, one class by design), by their
    role in the detector rather than by their type: whatever a detector holds as ``rpn_head``,
    and the ``bbox_head`` of mmdet's ``RPN`` detector, which forces ``num_classes=1`` on any
    head it is given (an FCOS or RetinaNet head used as RPN)."""
    found = []
    for path, module in model.named_modules():
        if path.rsplit(".", 1)[-1] == "rpn_head":
            found.append(path)
        if any(c.__name__ == "RPN" and c.__module__.startswith("mmdet.") for c in type(module).__mro__):
            head = getattr(module, "bbox_head", None)
            if head is not None:
                found.append(f"{path}.bbox_head" if path else "bbox_head")
    return found


# Benchmark dataset types whose default classes are the benchmark's: name -> (head sizes
# that fit the default classes (all classes first, then things / stuff of panoptic sets),
# words that the paths of the real benchmark data contain).
BENCHMARKS = {
    "CocoDataset": ((80,), ("coco",)),
    "CocoPanopticDataset": ((133, 80, 53), ("coco",)),
    "VOCDataset": ((20,), ("voc",)),
    "CityscapesDataset": ((8,), ("cityscapes",)),
    "LVISV05Dataset": ((1230,), ("lvis", "coco")),
    "LVISV1Dataset": ((1203,), ("lvis", "coco")),
    "LVISDataset": ((1230,), ("lvis", "coco")),
    "Objects365V1Dataset": ((365,), ("objects365", "object365", "obj365")),
    "Objects365V2Dataset": ((365,), ("objects365", "object365", "obj365")),
    "WIDERFaceDataset": ((1,), ("wider",)),
    "DeepFashionDataset": ((15,), ("fashion",)),
    "CrowdHumanDataset": ((1,), ("crowdhuman",)),
    "ADE20KPanopticDataset": ((150, 100, 50), ("ade",)),
    "ADE20KInstanceDataset": ((100,), ("ade",)),
}
# MOTChallengeDataset is left out on purpose: its 13 default classes are the MOT annotation
# taxonomy (distractors, occluders...) that MOTChallengeMetric needs on the evaluation split,
# not the classes of the detector's head.


def dataset_paths(ds) -> str:
    """The paths a dataset config reads (data_root, ann_file, data_prefix), space-separated."""
    parts = [ds.get("data_root", None), ds.get("ann_file", None)]
    prefix = ds.get("data_prefix", None)
    if hasattr(prefix, "values"):
        parts += list(prefix.values())
    elif isinstance(prefix, str):
        parts.append(prefix)
    return " ".join(p for p in parts if isinstance(p, str))


def benchmark_at_own_paths(ds) -> bool:
    """A benchmark dataset type without ``metainfo.classes`` whose paths are the benchmark's
    (COCO at data/coco/): its default classes are the right ones."""
    kind = type_name(ds.get("type", None))
    if kind not in BENCHMARKS or metainfo_classes(ds) is not None:
        return False
    paths = dataset_paths(ds).lower()
    return bool(paths) and any(w in paths for w in BENCHMARKS[kind][1])


def counts_object_classes(path: str) -> bool:
    """Whether a module/key path names a head whose ``num_classes`` should equal the
    dataset's object classes (RPN, semantic, re-id and tracking heads do not)."""
    lowered = path.lower()
    return not any(word in lowered for word in NOT_OBJECT_CLASS_HEADS)


def module_key(ctx, module_path: str) -> str:
    """The config key that configures a module: ``model.<path>``, or the nearest parent that the
    config sets (a submodule built by its parent's code has no key of its own)."""
    parts = module_path.split(".")
    while parts:
        key = "model." + ".".join(parts)
        if ctx.config_value(key, None) is not None:
            return key
        parts.pop()
    return "model"


# What mmengine's registry says when building a config dict fails.
NOT_REGISTERED = re.compile(r"'?([\w.]+) is not in the ([\w:]+) registry")
CLASS_IN_MESSAGE = re.compile(r"class `(\w+)` in ([\w./\\-]+)")
INIT_IN_MESSAGE = re.compile(r"\b(\w+)\.__init__\(\)")
UNEXPECTED_ARGUMENT = re.compile(r"unexpected keyword argument '(\w+)'")
MISSING_ARGUMENTS = re.compile(r"missing \d+ required (?:positional|keyword-only) arguments?: (.+)$", re.M)


@dataclass
class BuildFailure:
    """Where in a config a build error points: the key path to edit and what is wrong there."""

    key_path: str
    kind: str                     # "unregistered", "unexpected-argument", "missing-argument" or "other"
    cls: str | None = None        # the class whose constructor failed, when the message names it
    argument: str | None = None   # the unexpected argument, or the unregistered type
    missing: list[str] = field(default_factory=list)
    registry: str | None = None


def locate_build_failure(message: str, node: Any, path: str) -> BuildFailure:
    """The key under ``node`` (a config subtree at ``path``) that a registry build error names: the
    ``type`` no registry knows, the argument the class does not take, or the dict missing one."""
    m = NOT_REGISTERED.search(message)
    if m:
        name = m.group(1)
        key = next((p for p, d in walk_dicts(node, path) if type_name(d.get("type")) == type_name(name)), None)
        return BuildFailure(f"{key or path}.type", "unregistered", argument=name, registry=m.group(2))
    cls = CLASS_IN_MESSAGE.search(message) or INIT_IN_MESSAGE.search(message)
    cls_name = cls.group(1) if cls else None
    candidates = [p_d for p_d in walk_dicts(node, path) if cls_name is None or node_type(p_d[1]) == cls_name]
    first = candidates[0][0] if cls_name and candidates else path
    m = UNEXPECTED_ARGUMENT.search(message)
    if m:
        arg = m.group(1)
        key = next((f"{p}.{arg}" for p, d in candidates if arg in d), None)
        if key is None:  # the class named is a base class (BaseDataset.__init__): a dict that sets it, one
            # whose type is named after that class first (Shared2FCBBoxHead for BBoxHead.__init__)
            setting = [(p, d) for p, d in walk_dicts(node, path) if arg in d]
            named = [(p, d) for p, d in setting if cls_name and cls_name in node_type(d)]
            key = next((f"{p}.{arg}" for p, d in named + setting), None)
        return BuildFailure(key or first, "unexpected-argument", cls=cls_name, argument=arg)
    m = MISSING_ARGUMENTS.search(message)
    if m:
        return BuildFailure(first, "missing-argument", cls=cls_name, missing=re.findall(r"'(\w+)'", m.group(1)))
    return BuildFailure(first, "other", cls=cls_name)


# --------------------------------------------------------------------------- loops and pipelines
def train_loop(cfg) -> tuple[str, Any, str] | None:
    """(unit, length, key path) of the training loop, e.g. ('epoch', 12, 'train_cfg.max_epochs');
    the length may be None when the loop does not say. None when there is no recognizable loop."""
    tc = cfg.get("train_cfg", None)
    if not is_mapping(tc):
        return None
    kind = type_name(tc.get("type", None)) or ""
    epochs, iters = tc.get("max_epochs", None), tc.get("max_iters", None)
    if "Epoch" in kind or (not kind and tc.get("by_epoch", True) and epochs is not None):
        return "epoch", epochs, "train_cfg.max_epochs"
    if "Iter" in kind or (not kind and iters is not None):
        return "iter", iters, "train_cfg.max_iters"
    return None


def transforms_in(pipeline: Any, path: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(key path, transform dict) of every transform of a pipeline, nested ones included
    (``MultiScaleFlipAug``/``TestTimeAug`` ``transforms``, ``RandomChoice``, ``MultiBranch``
    branches...)."""
    if depth > 8:
        return
    if isinstance(pipeline, (list, tuple)):
        for i, t in enumerate(pipeline):
            yield from transforms_in(t, f"{path}.{i}", depth + 1)
    elif is_mapping(pipeline):
        if "type" in pipeline:
            yield path, pipeline
        for k in list(pipeline.keys()):
            v = pipeline[k]
            if isinstance(v, (list, tuple)) or (is_mapping(v) and k != "type"):
                if k in ("init_cfg", "backend_args", "meta_keys"):
                    continue
                yield from transforms_in(v, f"{path}.{k}", depth + 1)


def dataloader_pipelines(cfg, loaders=DATALOADERS) -> Iterator[tuple[str, str, Any, list]]:
    """(loader, key path of the pipeline, the dataset dict holding it, pipeline) for every
    dataset behind each dataloader, wrappers included (a ``MultiImageMixDataset``'s own
    pipeline runs after its inner dataset's)."""
    for loader in loaders:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for path, ds in walk_dicts(dl.get("dataset", None), f"{loader}.dataset"):
            if ".pipeline" in path:
                continue
            pipeline = ds.get("pipeline", None)
            if isinstance(pipeline, (list, tuple)):
                yield loader, f"{path}.pipeline", ds, list(pipeline)

import ast
import re
import textwrap
from functools import lru_cache

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataloader_pipelines, is_mapping, node_type, transforms_in
from detaudit.rule.source import source_of

from ._component_dicts import constructors_of

# What a data sample is and does (fields the packer fills, methods): never a per-sample value to pack.
SAMPLE_MEMBERS = frozenset({
    "gt_instances", "ignored_instances", "pred_instances", "proposals", "gt_sem_seg", "gt_panoptic_seg",
    "pred_sem_seg", "pred_panoptic_seg", "pred_track_instances", "gt_instances_3d", "metainfo"})


def _source(klass) -> str | None:
    try:
        return source_of(klass)
    except (OSError, TypeError):
        return None


@lru_cache(maxsize=None)
def loss_reads(model_cls) -> tuple[tuple[str, str], ...]:
    """(field, class) for each attribute the model's own ``loss`` reads from a data sample
    without first checking that it is there (no ``'field' in sample`` in the method), leaving
    out what every data sample has and its methods."""
    from mmengine.structures import BaseDataElement

    for klass in model_cls.__mro__:
        method = klass.__dict__.get("loss")
        if method is None:
            continue
        try:
            tree = ast.parse(textwrap.dedent(source_of(method)))
        except (OSError, TypeError, SyntaxError):
            return ()
        named = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        found = {}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name) and "data_sample" in node.value.id
                    and node.attr not in SAMPLE_MEMBERS and node.attr not in named
                    and not node.attr.startswith("_") and not hasattr(BaseDataElement, node.attr)
                    and not hasattr(list, node.attr)  # a list of samples named like one
                    and not _sample_class_member(node.attr)):
                found.setdefault(node.attr, klass.__name__)
        return tuple(sorted(found.items()))
    return ()


@lru_cache(maxsize=None)
def _sample_class_member(name: str) -> bool:
    """A method or property of one of mmdet's data sample classes (``get_key_frames``...)."""
    import importlib

    for module, cls in (("mmdet.structures", "DetDataSample"), ("mmdet.structures", "TrackDataSample")):
        try:
            if hasattr(getattr(importlib.import_module(module), cls), name):
                return True
        except (ImportError, AttributeError):
            continue
    return False


@lru_cache(maxsize=None)
def sets_field(cls, field: str) -> str | None:
    """How a dataset's or transform's own code (its class and bases) sets ``field`` on a sample:
    "always", "return_classes" (only under ``if self.return_classes``), or None (never; a class
    whose code cannot be read counts as setting it)."""
    assign = re.compile(r"\[['\"]" + re.escape(field) + r"['\"]\]\s*=(?!=)|['\"]" + re.escape(field) + r"['\"]\s*:"
                        r"|[(,]\s*" + re.escape(field) + r"\s*=(?!=)")  # results['f'] = / {'f': / dict(f=
    guarded = re.compile(r"if\s+self\.return_classes\s*:[^\n]*\n(?:[^\n]*\n){0,2}?[^\n]*\[['\"]"
                         + re.escape(field) + r"['\"]\]\s*=(?!=)")
    how = None
    for klass in cls.__mro__:
        if klass is object:
            continue
        text = _source(klass)
        if text is None:
            return "always"
        if guarded.search(text):
            how = how or "return_classes"
            text = guarded.sub("", text)
        if assign.search(text):
            return "always"
    return how


def _packer_index(pipeline) -> int | None:
    for i in range(len(pipeline) - 1, -1, -1):
        kind = node_type(pipeline[i]) if is_mapping(pipeline[i]) else None
        if kind and kind.startswith("Pack") and kind.endswith("Inputs"):
            return i
    return None


@rule(code="DA871", name="sample-field-never-packed", severity="error", tier="static", needs=("constructors",))
def sample_field_never_packed(ctx):
    """The model's loss reads a data-sample field the training data never carries.

    ## What it does
    Reads the model's own ``loss`` code (from the installed package or the project) for the fields
    it takes from each data sample without checking they are there (GLIP's and Grounding DINO's
    ``data_samples.text``, the class-name prompt), then follows each training dataset's pipeline:
    the field must be set by the dataset's code (``data_info['text'] = ...``; for a COCO-style set
    only with ``return_classes=True``) or by a transform, and kept by the packer's ``meta_keys``.
    Reports the dataset argument that is off, or the ``meta_keys`` that leave the field out.

    ## Why is this bad?
    A grounding detector fine-tuned from a zero-shot config inherits a training set that was
    never prepared for text prompts (only the evaluation sets were): the first training step fails
    with ``'DetDataSample' object has no attribute 'text'``, after the datasets, the model and the
    language model are loaded.

    ## Example
    ```python
    _base_ = 'mmdet::glip/glip_atss_swin-t_a_fpn_dyhead_pretrain_obj365.py'
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('bottle', 'can')), ann_file='train.json'))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=('bottle', 'can')), ann_file='train.json',
                                         return_classes=True))  # and 'text' in PackDetInputs' meta_keys
    ```
    """
    constructors = constructors_of(ctx)
    model = ctx.cfg.get("model", None)
    if constructors is None or not is_mapping(model):
        return
    resolved = constructors.resolve(model.get("type"), "model")
    if resolved is None or not isinstance(resolved[0], type):
        return
    reads = loss_reads(resolved[0])
    if not reads:
        return
    model_name = resolved[0].__name__
    for loader, key, ds, pipeline in dataloader_pipelines(ctx.cfg, loaders=("train_dataloader",)):
        if is_mapping(ds.get("dataset", None)) or isinstance(ds.get("datasets", None), (list, tuple)):
            continue  # a wrapper's own pipeline runs on what its inner datasets give: those are judged
        ds_key = key[: -len(".pipeline")]
        found = constructors.resolve(ds.get("type"), ds_key)
        dataset_cls = found[0] if found is not None and isinstance(found[0], type) else None
        packer = _packer_index(pipeline)
        for field, reader in reads:
            by_dataset = sets_field(dataset_cls, field) if dataset_cls is not None else "always"
            setters = set()
            for step_key, step in transforms_in(pipeline, key):  # nested steps too (RandomChoice, MultiBranch)
                step_cls = constructors.resolve(step.get("type"), key)
                if step_cls is not None and isinstance(step_cls[0], type) and sets_field(step_cls[0], field) == "always":
                    setters.add(int(step_key[len(key) + 1:].split(".")[0]))
            by_transform = bool(setters)
            evidence = {"model": model_name, "reads": f"{reader}.loss: data_samples.{field}",
                        "dataset": node_type(ds) or "?"}
            if by_dataset == "return_classes" and ds.get("return_classes", False) is not True and not by_transform:
                yield Violation(
                    message=(f"{model_name}'s loss reads data_samples.{field}, which {node_type(ds)} sets only with "
                             f"return_classes=True, and {ds_key} does not set it: the first training step fails "
                             f"('DetDataSample' object has no attribute '{field}')"),
                    key_path=f"{ds_key}.return_classes", evidence=evidence,
                    fix=f"set return_classes=True on {ds_key}")
                continue
            if by_dataset is None and not by_transform:
                yield Violation(
                    message=(f"{model_name}'s loss reads data_samples.{field}, and neither {node_type(ds)} nor a "
                             f"transform of {key} sets '{field}': the first training step fails"),
                    key_path=ds_key, evidence=evidence,
                    fix=f"train on a dataset that provides '{field}' (one built for {model_name}'s data)")
                continue
            if packer is None or packer in setters:
                continue
            meta_keys = pipeline[packer].get("meta_keys", None)
            if isinstance(meta_keys, (list, tuple)) and field not in meta_keys:
                yield Violation(
                    message=(f"{model_name}'s loss reads data_samples.{field}, and {key}.{packer} "
                             f"({node_type(pipeline[packer])}) leaves '{field}' out of meta_keys: the first "
                             "training step fails"),
                    key_path=f"{key}.{packer}.meta_keys", evidence=evidence,
                    fix=f"add '{field}' to meta_keys")

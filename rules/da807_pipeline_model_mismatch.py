from detaudit.rule import Violation, rule
from detaudit.rule.config import DATALOADERS, datasets_under, is_mapping, node_type, transforms_in, walk_dicts

# Models that predict masks without a key named mask_head (type name prefixes).
MASK_MODELS = ("SparseInst", "Mask2Former", "MaskFormer")
MASK_HEAD_PREFIXES = ("RTMDetIns",)
# Models with a mask head trained from boxes alone.
BOX_SUPERVISED = ("BoxInst",)
# Transforms that use masks for augmentation even when the model predicts none.
MASK_AUGMENTS = ("CopyPaste", "InstaBoost")
# Datasets whose annotation files hold boxes only.
BOX_ONLY_DATASETS = ("VOC", "XMLDataset", "WIDERFace")


def _needs(model) -> tuple[str | None, str | None]:
    """(what needs masks, what needs semantic maps) in the model config, as key paths."""
    mask = seg = None
    if not is_mapping(model) or node_type(model) in BOX_SUPERVISED:
        return None, None
    if node_type(model).startswith(MASK_MODELS):
        mask = "model"
    for path, d in walk_dicts(model, "model"):
        head = d.get("mask_head", None)
        heads = head if isinstance(head, (list, tuple)) else [head]  # cascades: one per stage
        if any(is_mapping(h) for h in heads) and mask is None:
            mask = f"{path}.mask_head"
        if (d.get("mask_on", False) is True or is_mapping(d.get("roi_mask_head", None))) and mask is None:
            mask = path  # a Detectron2 model wrapped for mmdet
        if node_type(d).startswith(MASK_HEAD_PREFIXES) and mask is None:
            mask = path
        if is_mapping(d.get("semantic_head", None)) and seg is None:
            seg = f"{path}.semantic_head"
        head = d.get("panoptic_head", None)
        if is_mapping(head) and (head.get("num_stuff_classes", 0) or 0) > 0 and seg is None:
            seg = f"{path}.panoptic_head"
    return mask, seg


def _loads(t) -> tuple[bool, bool]:
    """(masks, semantic maps) an annotation-loading transform loads (LoadPanopticAnnotations
    loads both by default, LoadAnnotations neither)."""
    panoptic = "Panoptic" in node_type(t)
    return bool(t.get("with_mask", panoptic)), bool(t.get("with_seg", panoptic))


def _train_chains(cfg, loader):
    """(dataset path, dataset, [(pipeline path, pipeline)] it runs through, innermost first)
    for each real dataset of a loader: its own pipeline, then its wrappers'."""
    dl = cfg.get(loader, None)
    if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
        return
    root = f"{loader}.dataset"
    for path, ds in datasets_under(dl["dataset"], root):
        chain = []
        prefix = path
        while prefix.startswith(root):
            node = _at(cfg, prefix)
            if is_mapping(node) and isinstance(node.get("pipeline", None), (list, tuple)):
                chain.append((f"{prefix}.pipeline", list(node["pipeline"])))
            if prefix == root:
                break
            prefix = prefix.rsplit(".", 2 if prefix.rsplit(".", 1)[-1].isdigit() else 1)[0]
        yield path, ds, chain


def _image_channels(transforms) -> tuple[str, int, bool] | None:
    """(key path of the image loading transform, channels it gives, whether color_type is written)."""
    for p, t in transforms:
        kind = node_type(t)
        if kind.startswith("LoadImageFrom") or kind == "LoadMultiChannelImageFromFiles":
            color = t.get("color_type", "color")
            if not isinstance(color, str) or kind == "LoadMultiChannelImageFromFiles":
                return None
            channels = 1 if color.startswith("grayscale") else 3 if color.startswith("color") else None
            return (p, channels, "color_type" in t) if channels else None
    return None


def _model_channels(model) -> list[tuple[str, int]]:
    """(key path, channels) the model config takes as input: a data preprocessor's three-value
    mean/std, a backbone's explicit in_channels."""
    out = []
    for path, d in walk_dicts(model, "model"):
        last = path.rsplit(".", 1)[-1]
        if last == "data_preprocessor":
            for k in ("mean", "std"):
                v = d.get(k, None)
                if isinstance(v, (list, tuple)) and len(v) == 3:
                    out.append((f"{path}.{k}", 3))
                    break
        elif last == "backbone" and isinstance(d.get("in_channels", None), int) \
                and not isinstance(d["in_channels"], bool) and d["in_channels"] in (1, 3):
            out.append((f"{path}.in_channels", d["in_channels"]))
    return out


def _channel_mismatch(chain, model, seen):
    """A Violation when the images the pipeline loads have another channel count than the model takes."""
    transforms = [(p, t) for pipe_path, pipe in chain for p, t in transforms_in(pipe, pipe_path)]
    loading = _image_channels(transforms)
    if loading is None or loading[0] in seen:
        return None
    seen.add(loading[0])
    load_key, channels, written = loading
    takes = _model_channels(model)
    wrong = [(k, c) for k, c in takes if c != channels]
    if not wrong:
        return None
    shown = ", ".join(f"{k} takes {c}" for k, c in takes)
    if written and len(wrong) == len(takes):
        key = f"{load_key}.color_type"
        message = (f"{key} loads {channels}-channel images but the model takes {wrong[0][1]} ({shown}): the "
                   f"first batch fails in the data preprocessor or the first convolution")
        fix = (f"load the images as the model takes them (color_type='color'), or make the model take "
               f"{channels} channel(s): {', '.join(k for k, _ in wrong)}")
    else:
        key = wrong[0][0]
        message = (f"{key} = {wrong[0][1]} channel(s), but {load_key} loads {channels}-channel images"
                   f"{' (color_type ' + repr('color') + ', the default)' if not written else ''} ({shown}): the "
                   f"first convolution fails on every batch")
        fix = (f"set {key} to {channels}, or load {wrong[0][1]}-channel images "
               f"(color_type={'grayscale' if wrong[0][1] == 1 else 'color'!r} in {load_key})")
    if key in seen:  # one model key, whatever number of pipelines load colour images
        return None
    seen.add(key)
    return Violation(message=message, key_path=key,
                     evidence={"image_channels": channels, "model_channels": dict(takes)}, fix=fix)


def _at(cfg, path):
    node = cfg
    for part in path.split("."):
        if is_mapping(node) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


@rule(code="DA807", name="pipeline-model-mismatch", severity="error", tier="static")
def pipeline_model_mismatch(ctx):
    """The data pipeline does not produce what the model trains on, or what the dataset has.

    ## What it does
    Compares the train pipeline of every dataset (with its wrappers' pipelines) with the
    model and the dataset: a model with a mask head (``mask_head``, SOLO, CondInst,
    RTMDet-Ins, Mask2Former...) whose ``LoadAnnotations`` does not load masks
    (``with_mask=True``); a semantic or panoptic head (``semantic_head``, a
    ``panoptic_head`` with stuff classes) without ``with_seg=True``; masks loaded from a
    dataset that has none (VOC-style XML datasets); and a pipeline of any dataloader that
    never packs its results (no ``PackDetInputs`` or other ``Pack*`` transform); and images
    loaded with another channel count (``color_type='grayscale'``: one) than the model takes (a
    three-value ``mean``/``std`` of its data preprocessor, its backbone's ``in_channels``). Masks loaded
    for a box-only model (no mask augmentation such as ``CopyPaste`` either) are a warning:
    they cost time and memory for nothing. BoxInst, whose mask head learns from boxes, needs
    no masks.

    ## Why is this bad?
    The mask head's loss reads ``gt_instances.masks``: a pipeline that never loaded them
    fails at the first iteration (``AttributeError``/``KeyError`` deep in the head), after
    the model was built and the weights loaded. A VOC dataset has no masks to load. A
    pipeline that does not pack gives the model raw dicts instead of ``inputs`` and
    ``data_samples``. Grayscale images meet a three-channel normalization (an index error in the
    preprocessor) or a one-channel backbone meets colour images (a size error in its first
    convolution) only once the first batch is there.

    ## Example
    ```python
    _base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py',
              'mmdet::_base_/datasets/coco_detection.py']    # LoadAnnotations(with_bbox=True)
    ```

    ## Use instead
    ```python
    _base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py',
              'mmdet::_base_/datasets/coco_instance.py']     # LoadAnnotations(with_bbox=True, with_mask=True)
    ```
    """
    cfg = ctx.cfg
    needs_mask, needs_seg = _needs(cfg.get("model", None))
    seen = set()
    loaded = set()
    for loader in DATALOADERS:
        for ds_path, ds, chain in _train_chains(cfg, loader):
            mismatch = _channel_mismatch(chain, cfg.get("model", None), loaded)
            if mismatch is not None:
                yield mismatch
            transforms = [(p, t) for pipe_path, pipe in chain for p, t in transforms_in(pipe, pipe_path)]
            if not transforms:
                continue
            key = tuple(id(t) for _, t in transforms)
            if chain and not any(node_type(t).startswith("Pack") for _, t in transforms) and key not in seen:
                seen.add(key)
                pipe_path = chain[0][0]
                yield Violation(
                    message=(f"{pipe_path} has no Pack*Inputs transform: the model receives raw result dicts "
                             f"instead of inputs and data_samples, and the first batch fails"),
                    key_path=pipe_path, fix="end the pipeline with dict(type='PackDetInputs')")
            if loader != "train_dataloader":
                continue
            loaders = [(p, t) for p, t in transforms if "Load" in node_type(t) and "Annotations" in node_type(t)]
            if not loaders:
                continue
            masks = any(_loads(t)[0] for _, t in loaders)
            segs = any(_loads(t)[1] for _, t in loaders)
            first = loaders[0][0]
            ds_type = node_type(ds)
            if masks and any(word in ds_type for word in BOX_ONLY_DATASETS):
                yield Violation(
                    message=(f"{ds_path} is a {ds_type}, whose annotations hold boxes only, but its pipeline loads "
                             f"masks (with_mask=True at {first})"
                             + (f" for the mask head {needs_mask}" if needs_mask else "")
                             + ": the first batch fails looking for them"),
                    key_path=f"{ds_path}.type", evidence={"dataset": ds_type, "mask_head": needs_mask},
                    fix="train a mask model on a dataset with instance masks (COCO format), or a box-only model "
                        "with with_mask=False")
                continue
            if needs_mask and not masks:
                yield Violation(
                    message=(f"the model has a mask head ({needs_mask}) but {ds_path}'s train pipeline loads no "
                             f"masks ({first} has with_mask={loaders[0][1].get('with_mask', False)!r}):"
                             f" the mask loss fails at the first iteration"),
                    key_path=f"{first}.with_mask", evidence={"mask_head": needs_mask, "loader": first},
                    fix=f"set with_mask=True in {first} (the coco_instance base does)")
            if needs_seg and not segs:
                yield Violation(
                    message=(f"the model has a semantic/panoptic head ({needs_seg}) but {ds_path}'s train pipeline "
                             f"loads no semantic maps ({first} has no with_seg=True): its loss fails at the first "
                             f"iteration"),
                    key_path=f"{first}.with_seg", evidence={"seg_head": needs_seg, "loader": first},
                    fix=f"set with_seg=True in {first} (and the dataset's seg data_prefix)")
            uses_masks = any(node_type(t) in MASK_AUGMENTS or t.get("by_mask", False) for _, t in transforms)
            model_type = node_type(cfg.get("model", None))
            if masks and not needs_mask and not uses_masks and model_type and model_type not in BOX_SUPERVISED:
                yield Violation(
                    message=(f"{ds_path}'s train pipeline loads masks ({first}) but the model has no mask head: "
                             f"decoding and augmenting them costs time and memory for nothing"),
                    key_path=f"{first}.with_mask", fix=f"set with_mask=False in {first}", severity="warning")

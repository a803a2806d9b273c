"""An MMDetection 2.x config, as merged data, turned into its 3.x form (:func:`convert`).

Pure functions of plain dicts and lists: the tables of :mod:`.tables` say what maps to what;
what has no 3.x equivalent is kept as it is and listed in the notes (key, why).
"""
from __future__ import annotations

import copy

from . import tables as T
from .schedule import Note, loop as _loop, optim_wrapper as _optim_wrapper, param_scheduler as _param_scheduler
from .schedule import runtime as _runtime
from .transformer import mask_head


def _is_dict(v) -> bool:
    return isinstance(v, dict)


def convert(cfg: dict) -> tuple[dict, list[Note]]:
    """The 3.x config a 2.x config (its merged data) says, and what could not be carried over."""
    src = copy.deepcopy(cfg)
    out: dict = {}
    notes: list[Note] = []
    pipelines = _Pipelines(notes)
    data_root = src.get("data_root") if isinstance(src.get("data_root"), str) else None
    for key, value in src.items():
        if key in T.DROPPED:
            continue
        if key.endswith("pipeline") and isinstance(value, list):
            out[key] = pipelines.convert(value, key)
        else:
            out[key] = value
    imports = out.get("custom_imports")
    if isinstance(imports, dict) and isinstance(imports.get("imports"), list):
        out["custom_imports"] = dict(imports, imports=[_renamed_package(m) for m in imports["imports"]])
    loop_type, max_key, max_value = _loop(src, notes)
    if _is_dict(src.get("data")) and _has_dataset_part(src["data"]):
        out.update(_dataloaders(src["data"], pipelines, data_root, notes))
    evaluation = src.get("evaluation")
    if _is_dict(evaluation):
        evaluator = _evaluator(evaluation, src.get("data"), data_root, notes)
        if evaluator is not None:
            out["val_evaluator"] = evaluator
            out["test_evaluator"] = copy.deepcopy(evaluator)
    if loop_type is not None:
        train_cfg = {"type": loop_type, max_key: max_value}
        if _is_dict(evaluation) and "interval" in evaluation:
            train_cfg["val_interval"] = evaluation["interval"]
        elif loop_type == "EpochBasedTrainLoop":
            train_cfg["val_interval"] = 1
        out["train_cfg"] = train_cfg
        out["val_cfg"] = {"type": "ValLoop"}
        out["test_cfg"] = {"type": "TestLoop"}
    if _is_dict(src.get("optimizer")):
        out["optim_wrapper"] = _optim_wrapper(src, notes)
    if _is_dict(src.get("lr_config")):
        scheds = _param_scheduler(src["lr_config"], loop_type, max_value, notes)
        if scheds is None:
            out["lr_config"] = src["lr_config"]
        else:
            out["param_scheduler"] = scheds
    if _is_dict(src.get("momentum_config")):
        out["momentum_config"] = src["momentum_config"]
        notes.append(Note("momentum_config", "momentum schedules have no one-to-one 3.x form: kept as written "
                          "(write a momentum scheduler in param_scheduler)"))
    _runtime(src, out, loop_type, notes)
    if _is_dict(out.get("model")) and _transformer_head(out["model"]):
        notes.append(Note("model", "a 2.x transformer head (DETR family): 3.x moved the encoder and decoder from "
                          "the head into the detector, with other keys; the model is kept as written"))
    if _is_dict(out.get("model")):
        out["model"] = _model(out["model"], pipelines.preprocessor, pipelines.with_mask, pipelines.seg_scale_factor)
    return out, notes


def _renamed_package(module):
    head, dot, rest = module.partition(".") if isinstance(module, str) else ("", "", "")
    return f"{T.PACKAGES[head]}{dot}{rest}" if head in T.PACKAGES else module


# --------------------------------------------------------------------------- pipelines
class _Pipelines:
    """Converts pipelines, remembering what the data preprocessor must take over (the first
    training pipeline's Normalize and Pad)."""

    def __init__(self, notes: list[Note]):
        self.notes = notes
        self.preprocessor: dict | None = None
        self.with_mask = False
        self.panoptic = False          # the training pipeline loads panoptic annotations
        self.seg_scale_factor = None   # SegRescale's: 3.x's semantic head takes it (seg_scale_factor)

    def convert(self, pipeline: list, key: str) -> list:
        out = []
        found = {}
        for i, t in enumerate(pipeline):
            if not _is_dict(t):
                out.append(t)
                continue
            kind = t.get("type")
            if kind == "Normalize":
                found["mean"], found["std"] = t.get("mean"), t.get("std")
                found["bgr_to_rgb"] = bool(t.get("to_rgb", True))
                continue
            if kind == "Pad" and set(t) <= {"type", "size_divisor", "pad_val"} and "size_divisor" in t:
                found["pad_size_divisor"] = t["size_divisor"]
                continue
            if kind == "Pad" and set(t) <= {"type", "size", "pad_val"} and "size" in t and "test" not in key:
                # a fixed-size pad of training batches: 3.x pads the batch (BatchFixedSizePad)
                found["batch_augments"] = [{"type": "BatchFixedSizePad", "size": t["size"]}]
                continue
            if kind in T.TO_PREPROCESSOR and kind != "Pad":
                continue
            if kind == "MultiScaleFlipAug":
                out.extend(self._flatten_tta(t, f"{key}.{i}"))
                continue
            if kind == "SegRescale":
                self.seg_scale_factor = t.get("scale_factor", 1)
                continue
            if kind == "LoadAnnotations" and t.get("with_mask"):
                self.with_mask = True
            if kind == "LoadPanopticAnnotations":
                self.panoptic = True
            out.extend(self.transform(t, f"{key}.{i}"))
        if self.preprocessor is not None and "pad_size_divisor" in found:  # a test pipeline's Pad, when training's has none
            self.preprocessor.setdefault("pad_size_divisor", found["pad_size_divisor"])
        loads = any(_is_dict(t) and t.get("type") == "LoadImageFromFile" for t in pipeline)
        if self.preprocessor is None and "test" not in key and ("mean" in found or loads):
            if "mean" not in found:  # a training pipeline without Normalize: 2.x fed the pixels as read (BGR)
                found = {"mean": None, "std": None, "bgr_to_rgb": False, **found}
            self.preprocessor = {"type": "DetDataPreprocessor", **found}
        proposals = any(_is_dict(t) and t.get("type") == "LoadProposals" for t in out)
        # the annotations a 3.x test pipeline loads after Resize; not beside proposals (3.x's Fast R-CNN)
        out = [{k: v for k, v in t.items() if k != "__inserted__"} if _is_dict(t) else t for t in out
               if not (_is_dict(t) and t.get("__inserted__") and proposals)]
        if proposals:
            out = _broadcast_proposals(out)
        if out and not (_is_dict(out[-1]) and out[-1].get("type") == "PackDetInputs"):
            testing = any(_is_dict(t) and t.get("type") == "MultiScaleFlipAug" for t in pipeline) or "test" in key
            out.append({"type": "PackDetInputs", "meta_keys": T.TEST_META_KEYS} if testing else
                       {"type": "PackDetInputs"})
        return out

    def transform(self, t: dict, where: str) -> list:
        kind = t.get("type")
        t = {k: v for k, v in t.items()}
        if kind == "Resize":
            return [self._resize(t)]
        if kind == "AutoAugment" and isinstance(t.get("policies"), list):
            return [{"type": "RandomChoice", "transforms": [
                [x for step in policy if _is_dict(step) for x in self.transform(step, where)]
                for policy in t["policies"] if isinstance(policy, list)]}]
        for old, new in T.TRANSFORM_ARGS.get(kind, {}).items():
            if old in t:
                value = t.pop(old)
                if new is not None:
                    t[new] = value
        if kind in T.TRANSFORM_TYPES:
            t["type"] = T.TRANSFORM_TYPES[kind]
        return [t]

    def _resize(self, t: dict) -> dict:
        t = dict(t)
        scale = t.pop("img_scale", None)
        mode = t.pop("multiscale_mode", "range")
        ratio = t.get("ratio_range")
        t.pop("override", None)
        t.pop("bbox_clip_border", None) if t.get("bbox_clip_border", True) is True else None
        several = isinstance(scale, list) and len(scale) > 1
        if isinstance(scale, list) and len(scale) == 1:
            scale = scale[0]
        if several:
            kind, arg = T.MULTISCALE.get(mode, T.MULTISCALE["range"])
            return {"type": kind, arg: scale, **{k: v for k, v in t.items() if k != "type"}}
        if ratio is not None:
            return {"type": "RandomResize", "scale": scale, **{k: v for k, v in t.items() if k != "type"}}
        out = {"type": "Resize"}
        if scale is not None:
            out["scale"] = scale
        out.update({k: v for k, v in t.items() if k != "type"})
        return out

    def _flatten_tta(self, t: dict, where: str) -> list:
        """MultiScaleFlipAug of one scale without flip: its transforms, the scale on Resize. Several
        scales or flipping: the first scale, and a note (3.x test-time augmentation is tta_model)."""
        scale = t.get("img_scale")
        if isinstance(scale, list):
            if len(scale) > 1:
                self.notes.append(Note(where, f"test-time augmentation over {len(scale)} scales: the first scale "
                                       "is kept; 3.x writes TTA as tta_model and tta_pipeline"))
            scale = scale[0] if scale else None
        if t.get("flip"):
            self.notes.append(Note(where, "test-time flip: dropped; 3.x writes TTA as tta_model and tta_pipeline"))
        out = []
        for inner in t.get("transforms", []):
            if not _is_dict(inner):
                continue
            kind = inner.get("type")
            if kind == "Pad" and inner.get("pad_to_square"):  # squares the image: no preprocessor does that
                out.extend(self.transform(inner, where))
                continue
            if kind in T.TO_PREPROCESSOR or kind == "RandomFlip":
                continue
            if kind == "Resize":
                r = dict(inner)
                if scale is not None:
                    r["img_scale"] = scale
                elif "scale_factor" in t:
                    r["scale_factor"] = t["scale_factor"]
                out.append(self._resize(r))
                out.append(None)  # where LoadAnnotations goes in a 3.x test pipeline
                continue
            out.extend(self.transform(inner, where))
        annotations = {"type": "LoadAnnotations", "with_bbox": True}
        if self.panoptic:
            annotations = {"type": "LoadPanopticAnnotations"}
        elif self.with_mask:
            annotations["with_mask"] = True
        out = [dict(annotations, __inserted__=True) if x is None else x for x in out]
        return out


GEOMETRIC = ("Resize", "RandomResize", "RandomChoiceResize", "RandomFlip")


def _broadcast_proposals(pipeline: list) -> list:
    """3.x moves proposals with the image only inside ProposalBroadcaster: the geometric transforms
    after LoadProposals go into one, where the first of them was."""
    out, inner, at = [], [], None
    for t in pipeline:
        if _is_dict(t) and t.get("type") in GEOMETRIC:
            at = len(out) if at is None else at
            inner.append(t)
        else:
            out.append(t)
    if at is not None:
        out.insert(at, {"type": "ProposalBroadcaster", "transforms": inner})
    return out


def _has_dataset_part(data: dict) -> bool:
    return any(k in data for k in ("train", "val", "test", "samples_per_gpu", "workers_per_gpu"))


# --------------------------------------------------------------------------- datasets
def _split_root(path, data_root):
    if isinstance(path, str) and data_root and path.startswith(data_root):
        return path[len(data_root):]
    return path


PATH_KEYS = ("ann_file", "img_prefix", "seg_prefix", "proposal_file")


def _dataset_root(ds: dict, data_root):
    """The dataset's ``data_root`` in 3.x: its own (2.x joined its paths to it, as 3.x does), else the
    config's ``data_root`` when every path it gives starts with it, else none (paths stay as written)."""
    if ds.get("data_root"):
        return ds["data_root"]
    paths = [ds[k] for k in PATH_KEYS if isinstance(ds.get(k), str)]
    if data_root and paths and all(p.startswith(data_root) for p in paths):
        return data_root
    return None


def _dataset(ds: dict, pipelines: _Pipelines, data_root, where: str, test: bool, notes: list[Note]) -> dict:
    if not _is_dict(ds):
        return ds
    ds = dict(ds)
    kind = ds.get("type")
    if kind in T.WRAPPERS:
        inner_key = T.WRAPPERS[kind]
        if isinstance(ds.get(inner_key), list):
            ds[inner_key] = [_dataset(d, pipelines, data_root, f"{where}.{inner_key}.{i}", test, notes)
                             for i, d in enumerate(ds[inner_key])]
        elif _is_dict(ds.get(inner_key)):
            ds[inner_key] = _dataset(ds[inner_key], pipelines, data_root, f"{where}.{inner_key}", test, notes)
        if isinstance(ds.get("pipeline"), list):
            ds["pipeline"] = pipelines.convert(ds["pipeline"], f"{where}.pipeline")
        return ds
    if isinstance(ds.get("ann_file"), list):  # 2.x: several annotation files -> a ConcatDataset
        prefixes = ds.get("img_prefix")
        parts = []
        for i, ann in enumerate(ds["ann_file"]):
            one = dict(ds, ann_file=ann)
            if isinstance(prefixes, list):
                one["img_prefix"] = prefixes[i] if i < len(prefixes) else prefixes[-1]
            parts.append(_dataset(one, pipelines, data_root, f"{where}.datasets.{i}", test, notes))
        return {"type": "ConcatDataset", "datasets": parts}
    out: dict = {}
    voc = kind in ("VOCDataset", "WIDERFaceDataset")
    root = _dataset_root(ds, data_root)
    split = root is not None and "data_root" not in ds  # paths written with the root in front: cut it off
    ds.pop("data_root", None)
    for key, value in ds.items():
        if key in T.DATASET_ARGS:
            target = T.DATASET_ARGS[key]
            if target is None:
                continue
            if key == "img_prefix" and voc:
                target = "data_prefix.sub_data_root"
            if key in ("img_prefix", "seg_prefix", "proposal_file") and split:
                value = _split_root(value, root)
            if key == "classes":
                value = tuple(value) if isinstance(value, list) else value
            holder, _, sub = target.partition(".")
            if sub:
                out.setdefault(holder, {})[sub] = value
            else:
                out[holder] = value
        elif key == "pipeline" and isinstance(value, list):
            out[key] = pipelines.convert(value, f"{where}.pipeline" if not test else f"{where}.test_pipeline")
        elif key == "ann_file":
            out[key] = _split_root(value, root) if split else value
        elif key == "test_mode":
            continue
        else:
            out[key] = value
    if root is not None:
        out = {"type": out.pop("type"), "data_root": root, **out} if "type" in out else {"data_root": root, **out}
    if test:
        out["test_mode"] = True
    else:
        flt = out.setdefault("filter_cfg", {})
        flt.setdefault("filter_empty_gt", True)
        flt.setdefault("min_size", 32)
        if voc:
            flt.setdefault("bbox_min_size", 32)
    return out


def _dataloaders(data: dict, pipelines: _Pipelines, data_root, notes: list[Note]) -> dict:
    out = {}
    batch, workers = data.get("samples_per_gpu", 2), data.get("workers_per_gpu", 2)
    if _is_dict(data.get("train")):
        loader = {"batch_size": batch, "num_workers": workers, **copy.deepcopy(T.TRAIN_LOADER)}
        over = data.get("train_dataloader", {})
        if _is_dict(over):
            loader["batch_size"] = over.get("samples_per_gpu", loader["batch_size"])
            loader["num_workers"] = over.get("workers_per_gpu", loader["num_workers"])
        loader["dataset"] = _dataset(data["train"], pipelines, data_root, "data.train", False, notes)
        out["train_dataloader"] = loader
    for part in ("val", "test"):
        if not _is_dict(data.get(part)):
            continue
        loader = {"num_workers": workers, **copy.deepcopy(T.TEST_LOADER)}
        loader = {"batch_size": loader.pop("batch_size"), **loader}
        over = data.get(f"{part}_dataloader", {})
        if _is_dict(over):
            loader["batch_size"] = over.get("samples_per_gpu", loader["batch_size"])
            loader["num_workers"] = over.get("workers_per_gpu", loader["num_workers"])
        ds = dict(data[part])
        if "samples_per_gpu" in ds:
            loader["batch_size"] = ds.pop("samples_per_gpu")
        loader["dataset"] = _dataset(ds, pipelines, data_root, f"data.{part}", True, notes)
        out[f"{part}_dataloader"] = loader
    return out


def _leaf_dataset(ds):
    while _is_dict(ds) and ds.get("type") in T.WRAPPERS:
        inner = ds.get(T.WRAPPERS[ds["type"]])
        ds = inner[0] if isinstance(inner, list) and inner else inner
    return ds if _is_dict(ds) else None


def _evaluator(evaluation: dict, data, data_root, notes: list[Note]) -> dict | list | None:
    val = _leaf_dataset(data.get("val")) if _is_dict(data) else None
    kind = val.get("type") if val else None
    metric_type = T.EVALUATORS.get(kind) if kind else None
    if metric_type is None:
        notes.append(Note("evaluation", f"no 3.x evaluator known for dataset type {kind!r}: write val_evaluator"))
        return None
    ev = {"type": metric_type}
    if metric_type in ("CocoMetric", "LVISMetric", "CocoPanopticMetric"):
        ann = val.get("ann_file")
        if isinstance(ann, list):
            ann = ann[0]
        if ann is not None:
            ev["ann_file"] = ann
    for key, value in evaluation.items():
        target = T.EVALUATION_KEYS.get(key, key)
        if target is None:
            continue
        ev[target] = value
    if metric_type == "CocoPanopticMetric":  # PQ is what it computes: it takes no metric, but the PNGs' folder
        metric = ev.pop("metric", None)
        if val.get("seg_prefix") is not None:
            ev["seg_prefix"] = val["seg_prefix"]
        metrics = metric if isinstance(metric, (list, tuple)) else [metric]
        instance = [m for m in metrics if m in T.INSTANCE_METRICS]
        if instance and val.get("ins_ann_file") is not None:  # 2.x evaluated these on the instance annotations
            return [ev, {"type": "CocoMetric", "ann_file": val["ins_ann_file"], "metric": instance, "format_only": False}]
    if metric_type == "VOCMetric":
        ev.setdefault("eval_mode", T.VOC_EVAL_MODE)
    if metric_type == "CocoMetric":
        ev.setdefault("format_only", False)
    return ev


# --------------------------------------------------------------------------- model
def _transformer_head(model: dict) -> bool:
    return any(_is_dict(model.get(h)) and "transformer" in model[h] for h in ("bbox_head", "panoptic_head"))


def _has_mask_head(model: dict) -> bool:
    roi = model.get("roi_head")
    return bool((_is_dict(roi) and roi.get("mask_head")) or model.get("mask_head"))


def _model_fixups(value):
    """3.x's model classes where they differ from 2.x's: renamed types, arguments no longer taken,
    an assigner's costs as one ``match_costs`` list."""
    if isinstance(value, dict):
        value = {k: _model_fixups(v) for k, v in value.items()}
        kind = value.get("type")
        if isinstance(kind, str) and kind.split(".", 1)[0] in T.PACKAGES and "." in kind:
            scope, rest = kind.split(".", 1)
            value["type"] = kind = f"{T.PACKAGES[scope]}.{rest}"
        if kind in T.MODEL_TYPES:
            value["type"] = kind = T.MODEL_TYPES[kind]
        if kind in T.MASK_HEADS:
            value = mask_head(value)
        for old, new in T.MODEL_ARGS_RENAMED.get(kind, {}).items():
            if old in value:
                value[new] = value.pop(old)
        if kind in T.MERGED_HEADS and _is_dict(value.get(T.MERGED_HEADS[kind][0])):
            gone, into, keys, told = T.MERGED_HEADS[kind]
            head = value.pop(gone)
            value[into] = dict(value.get(into) or {}, **told, **{k: head[k] for k in keys if k in head})
        for gone in T.MODEL_ARGS_REMOVED.get(kind, ()):
            value.pop(gone, None)
        if kind == "HungarianAssigner" and any(c in value for c in T.ASSIGNER_COSTS):
            costs = [value.pop(c) for c in T.ASSIGNER_COSTS if c in value]
            value["match_costs"] = costs
        return value
    if isinstance(value, list):
        return [_model_fixups(v) for v in value]
    return value


def _pretrained_to_init_cfg(model: dict) -> dict:
    """2.x handed a detector's ``pretrained`` to its backbone, as ``init_cfg=dict(type='Pretrained')``;
    3.x detectors take no ``pretrained``."""
    if "pretrained" not in model:
        return model
    model = dict(model)
    pretrained = model.pop("pretrained")
    backbone = model.get("backbone")
    if isinstance(pretrained, str) and isinstance(backbone, dict):
        model["backbone"] = dict(backbone, init_cfg={"type": "Pretrained", "checkpoint": pretrained})
    return model


def _model(model: dict, preprocessor: dict | None, with_mask: bool, seg_scale_factor=None) -> dict:
    """The model with ``data_preprocessor`` first after its type: the training pipeline's Normalize and
    Pad, else 3.x's defaults (a model written without its data, as in a ``_base_/models`` file)."""
    roi = model.get("roi_head")
    if seg_scale_factor is not None and _is_dict(roi) and _is_dict(roi.get("semantic_head")):
        model = dict(model, roi_head=dict(roi, semantic_head=dict(seg_scale_factor=seg_scale_factor,
                                                                  **roi["semantic_head"])))
    if "data_preprocessor" in model or ("type" not in model and preprocessor is None):
        # a child's partial model: its data preprocessor comes with the pipeline it changes
        return _model_fixups(model)
    pre = dict(preprocessor) if preprocessor else {}
    for k, v in T.DEFAULT_DATA_PREPROCESSOR.items():
        pre.setdefault(k, v)
    if with_mask or _has_mask_head(model):
        pre["pad_mask"] = True
        pre["batch_augments"] = [dict(b, pad_mask=True) if b.get("type") == "BatchFixedSizePad" else b
                                 for b in pre.get("batch_augments", [])] or None
        if pre["batch_augments"] is None:
            del pre["batch_augments"]
    model = _pretrained_to_init_cfg(_model_fixups(model))
    if model.get("type") == "YOLOX" and "random_size_range" in model:  # 2.x's multi-scale training of YOLOX
        model = dict(model)
        low, high = model.pop("random_size_range")
        model.pop("input_size", None)
        pre["batch_augments"] = [{"type": "BatchSyncRandomResize", "random_size_range": (low * 32, high * 32),
                                  "size_divisor": 32, "interval": model.pop("random_size_interval", 10)}]
    out = {"type": model["type"]} if "type" in model else {}
    out["data_preprocessor"] = pre
    out.update({k: v for k, v in model.items() if k != "type"})
    return out

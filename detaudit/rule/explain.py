"""A crash, in config words: which keys produce the numbers, names and missing values a failure shows.

Given an exception raised while a config's components were built or run (its type, message,
traceback text and the module that was executing), :func:`explain` returns the config keys
that explain it, each with a sentence and the evidence:

* **the asserting component's own keys**: an ``assert`` without a message is read from its
  source line; every ``self.<name>`` it tests, and the names it derives from (``num_levels``
  from ``strides``, ``num_ins`` from ``in_channels``...), is looked up in the config dict that
  built the component (the module that was executing, or the registered class the failing
  frame belongs to);
* **numbers traced to keys**: the channel counts of a convolution that got another count than
  its weight takes, the feature sizes of a linear layer (channels x size x size: an RoI
  output size against a head's ``roi_feat_size``), the spatial sizes of a mask loss (RoI
  output size, upsampled, against ``mask_size``), the class count a per-class weight list
  must have (``num_classes`` + 1 for a softmax classifier);
* **a missing result key traced to the pipeline step that should have produced it**
  (``gt_masks``/``masks`` by ``LoadAnnotations(with_mask=True)``, the semantic map by
  ``with_seg=True``...);
* **a None operand traced to the key that is unset**;
* **feature maps a neck joins at sizes a power of two apart** traced to the backbone's
  ``out_indices`` (levels not one stride apart).

Only the config and the error are read; nothing is built or run here.
"""
from __future__ import annotations

import ast
import functools
import re
from typing import Any, Iterator

from ..errors import not_the_models_fault
from .config import is_mapping, walk_dicts
from .config import value_at as get
from .explain_asserted import asserted_dict
from .explain_batch import batch_of_one
from .explain_pipeline import missing_result, pipeline_input
from .explain_loss import loss_type_unfit
from .explain_runner import runner_refusal
from .explain_sizes import uneven_image_size
from .explain_topk import topk_beyond_candidates
from .explanation import Explanation, short_type as _short
from .packages import missing_package

NO_NETWORK = "blocks network access"  # the sandbox's refusal of a download

# attribute -> the config keys it is computed from, when the names differ
DERIVED = {
    "num_levels": ("strides",), "num_ins": ("in_channels",), "prior_generator": ("anchor_generator", "prior_generator"),
    "cls_out_channels": ("num_classes",), "num_base_priors": ("ratios", "scales", "octave_base_scale"),
    "featmap_strides": ("featmap_strides",), "num_stages": ("num_stages",), "stage_loss_weights": ("stage_loss_weights",),
    "bbox_head": ("bbox_head",), "bbox_roi_extractor": ("bbox_roi_extractor",), "mask_head": ("mask_head",),
    "mask_roi_extractor": ("mask_roi_extractor",), "in_channels": ("in_channels",), "out_channels": ("out_channels",),
    "num_outs": ("num_outs",), "num_classes": ("num_classes",), "strides": ("strides",),
}
# what feeds a component's forward arguments, for an assert comparing them with its own keys
FEEDS = {"neck": ("model.backbone.out_indices", "model.backbone"), "rpn_head": ("model.neck.num_outs",),
         "bbox_head": ("model.neck.num_outs", "model.neck.out_channels"), "roi_head": ("model.neck.num_outs",)}
CHANNEL_KEYS = ("in_channels", "out_channels", "feat_channels", "channels", "embed_dims", "fc_out_channels",
                "conv_out_channels", "inplanes", "base_channels")
SIZE_KEYS = ("roi_feat_size", "output_size", "mask_size", "out_size")
FRAME_RE = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)\s*$')


def frames(tb: str) -> list[tuple[str, int, str, str]]:
    """(file, line, function, source line) of each frame of a formatted traceback, outermost first."""
    out, lines = [], (tb or "").splitlines()
    for i, line in enumerate(lines):
        m = FRAME_RE.match(line)
        if m:
            src = lines[i + 1].strip() if i + 1 < len(lines) and not FRAME_RE.match(lines[i + 1]) else ""
            out.append((m.group(1), int(m.group(2)), m.group(3), src))
    return out


def _library(path: str) -> bool:
    p = path.replace("\\", "/")
    return any(f"/{pkg}/" in p for pkg in ("mmdet", "mmcv", "mmengine", "mmpretrain", "mmyolo"))


@functools.lru_cache(maxsize=256)
def _classes_at(path: str, line: int) -> tuple[str, ...]:
    """The classes of ``path`` whose body holds ``line`` (innermost last)."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return ()
    return tuple(n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
                 and n.lineno <= line <= (getattr(n, "end_lineno", None) or n.lineno))


def components(cfg, err) -> list[str]:
    """Key paths of the config dicts that built the failing component: the module that was
    executing (``neck.lateral_convs.0`` -> ``model.neck``), else the dicts whose ``type`` is a
    class the innermost library frame belongs to."""
    out: list[str] = []
    module = getattr(err, "module", None)
    if module:
        parts = module.split(".")
        while parts:
            path = "model." + ".".join(parts)
            if is_mapping(get(cfg, path)):
                out.append(path)
                break
            parts.pop()
    for file, line, _fn, _src in reversed(frames(getattr(err, "traceback", ""))):
        if not _library(file):
            continue
        classes = _classes_at(file, line)
        if classes:
            found = [p for p, d in _all_dicts(cfg) if _short(d.get("type")) in classes]
            out += [p for p in found if p not in out][:6]
            if found:
                break
    return out


def _all_dicts(cfg) -> Iterator[tuple[str, Any]]:
    for k in list(cfg.keys()) if is_mapping(cfg) else ():
        yield from walk_dicts(cfg[k], k)


def _leaves(node, path: str) -> Iterator[tuple[str, Any]]:
    if is_mapping(node):
        for k, v in node.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(node, (list, tuple)) and not all(isinstance(v, (int, float)) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}.{i}")
    else:
        yield path, node


def _valued(cfg, roots: list[str], keys: tuple[str, ...], value: int) -> list[tuple[str, Any]]:
    """(key path, value) of keys named one of ``keys`` under ``roots`` whose value is, or lists, ``value``."""
    out = []
    for root in roots:
        for path, v in _leaves(get(cfg, root), root):
            name = path.rsplit(".", 1)[-1]
            if name not in keys:
                continue
            if v == value or (isinstance(v, (list, tuple)) and value in v):
                out.append((path, v))
    return out


# --------------------------------------------------------------------------- strategies
def _assert(cfg, err, comps) -> list[Explanation]:
    fr = [f for f in frames(err.traceback) if f[3].startswith("assert ")]
    if err.type != "AssertionError" or not fr:
        return []
    file, line, _fn, src = fr[-1]
    attrs = re.findall(r"self\.(\w+)", src)
    names = [n for n in re.findall(r"\b([a-z_]\w*)\b", src) if n not in ("assert", "len", "self", "and", "or", "not",
                                                                          "is", "in", "None", "isinstance")]
    condition = re.sub(r"(['\"]).*?\1", "", src.split(",")[0])  # the tested expression, no message or quoted words
    bare = set(re.findall(r"(?<![.\w])([a-z_]\w*)\b", condition)) - {"assert", "not", "is", "in", "and", "or"}
    out = []
    for comp in comps:
        d = get(cfg, comp)
        keys = []
        subs = [(comp, d)] + [(f"{comp}.{k}", v) for k, v in (d.items() if is_mapping(d) else ()) if is_mapping(v)]
        for a in dict.fromkeys(attrs + names):
            for k in DERIVED.get(a, (a,)):
                for where_, sub in subs:  # the component's own keys first, then its parts' (anchor_generator...)
                    # a dict only when the assert tests it by its own name (`assert dcn is None`)
                    whole = not is_mapping(sub.get(k) if is_mapping(sub) else None) or (a in bare and where_ == comp)
                    if is_mapping(sub) and k in sub and f"{where_}.{k}" not in keys and whole:
                        keys.append(f"{where_}.{k}")
                        break
        if not keys:
            continue
        shown = "; ".join(f"{k} = {_show(get(cfg, k))}" for k in keys)
        feeds = [f for f in FEEDS.get(comp.rsplit(".", 1)[-1], ()) if get(cfg, f) is not None]
        fed = f"; what it receives comes from {', '.join(f'{f} = {_show(get(cfg, f))}' for f in feeds)}" if feeds else ""
        out.append(Explanation(keys[0], f"`{src}` failed in {_short(d.get('type'))} ({comp}): {shown}{fed}",
                               {"assert": src, "raised_at": f"{file}:{line}", "keys": keys, "fed_by": feeds},
                               f"make {' and '.join(keys)} agree with each other and with what {comp} receives"))
    return out


def _show(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _conv(cfg, err, comps) -> list[Explanation]:
    m = re.search(r"weight of size \[(\d+), (\d+)[^\]]*\], expected input\[[^\]]*\] to have (\d+) channels, "
                  r"but got (\d+) channels", err.message)
    if not m:
        return []
    want, got = int(m.group(3)), int(m.group(4))
    roots = comps or ["model"]
    found = _valued(cfg, roots, CHANNEL_KEYS, want)
    for root in roots if not found else ():
        # a part its parent builds with the parent's own channel list (Mask2Former's pixel decoder is
        # given panoptic_head.in_channels): the nearest enclosing component whose own keys name the number
        parts = root.split(".")
        for i in range(len(parts) - 1, 1, -1):
            parent = ".".join(parts[:i])
            own = get(cfg, parent)
            found = [(f"{parent}.{k}", v) for k, v in (own.items() if is_mapping(own) else ())
                     if k in CHANNEL_KEYS and (v == want or (isinstance(v, (list, tuple)) and want in v))]
            if found:
                break
        if found:
            break
    out = [Explanation(p, f"{p} = {_show(v)} makes a layer of {_short(get(cfg, p.rsplit('.', 1)[0]).get('type')) if is_mapping(get(cfg, p.rsplit('.', 1)[0])) else '?'} take {want} channels, but it receives {got}",
                       {"expected_channels": want, "received_channels": got}, f"set {p} to what its input has ({got} where it says {want})")
           for p, v in found[:2]]
    if not out and {want, got} & {1, 3, 4}:
        out += _image_channels(cfg, want, got)
    return out


def _image_channels(cfg, want: int, got: int) -> list[Explanation]:
    """A first convolution taking another channel count than the images have: the backbone's
    in_channels against the image loading (``color_type``) and the normalization (``mean``)."""
    out = []
    keys = []
    if get(cfg, "model.backbone.in_channels") is not None:
        keys.append(("model.backbone.in_channels", get(cfg, "model.backbone.in_channels")))
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        for path, d in walk_dicts(get(cfg, loader), loader):
            if _short(d.get("type")) == "LoadImageFromFile" and "color_type" in d:
                keys.append((f"{path}.color_type", d["color_type"]))
    mean = get(cfg, "model.data_preprocessor.mean")
    what = (f"the images reach the model with {got} channel(s) while its first layer takes {want}"
            + (f"; model.data_preprocessor.mean has {len(mean)} values" if isinstance(mean, (list, tuple)) else ""))
    for p, v in keys[:3]:
        out.append(Explanation(p, f"{p} = {_show(v)}: {what}", {"expected_channels": want, "received_channels": got},
                               "load the images with as many channels as the backbone's in_channels (and as many "
                               "mean/std values)"))
    return out


def _preprocessor(cfg, err, comps) -> list[Explanation]:
    """The data preprocessor failing on the image channels (BGR->RGB on a one-channel image,
    three mean values against another channel count)."""
    in_pre = (getattr(err, "module", None) or "").startswith("data_preprocessor") or any(
        f[0].endswith("data_preprocessor.py") for f in frames(err.traceback))
    if not in_pre:
        return []
    mean = get(cfg, "model.data_preprocessor.mean")
    want = len(mean) if isinstance(mean, (list, tuple)) else 3
    m = re.search(r"index (\d+) is out of bounds for dimension \d+ with size (\d+)", err.message)
    if m:
        return _image_channels(cfg, want, int(m.group(2)))
    m = re.search(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)", err.message)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        return _image_channels(cfg, want, b if a == want else a)
    return []


SIZE_MISMATCH = (re.compile(r"Sizes of tensors must match except in dimension \d+\. Expected size (\d+) but got size (\d+)"),
                 re.compile(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)"))


def _feature_levels(cfg, err, comps) -> list[Explanation]:
    """A neck joining two feature maps whose sizes are a power of two apart (a top-down path
    upsamples each level x2 onto the next): the backbone levels it is given are not one stride
    apart, two at the same stride or one skipped; traced to the backbone's ``out_indices``."""
    module = getattr(err, "module", None) or ""
    necks = [c for c in comps if c.rsplit(".", 1)[-1] == "neck"]
    if not (module == "neck" or module.startswith("neck.") or ".neck" in f".{module}") and not necks:
        return []
    m = next((r.search(err.message) for r in SIZE_MISMATCH if r.search(err.message)), None)
    if m is None:
        return []
    a, b = int(m.group(1)), int(m.group(2))
    big, small = max(a, b), min(a, b)
    if small <= 0 or big == small or big % small or (big // small) & (big // small - 1):
        return []
    neck = necks[0] if necks else "model.neck"
    backbone = neck.rsplit(".", 1)[0] + ".backbone"
    key = f"{backbone}.out_indices" if get(cfg, f"{backbone}.out_indices") is not None else backbone
    if get(cfg, key) is None:
        return []
    channels = get(cfg, f"{neck}.in_channels")
    shown = f"{key} = {_show(get(cfg, key))}" + (f", {neck}.in_channels = {_show(channels)}" if channels else "")
    return [Explanation(
        key, (f"{_short(get(cfg, f'{neck}.type'))} ({neck}) joins feature maps of sizes {a} and {b}, a factor of "
              f"{big // small} apart after its x2 upsampling: the backbone levels it is given are not one stride "
              f"apart (two at the same stride, or one skipped): {shown}"),
        {"sizes": [a, b], "neck": neck, "out_indices": get(cfg, key)},
        f"choose {key} so that each level has twice the stride of the one before (and {neck}.in_channels to "
        "match their channels)")]


def _linear(cfg, err, comps) -> list[Explanation]:
    """A fully connected layer given another feature count than it was built for: each count
    read as channels x size x size, with one channel count for both, the sizes traced to keys."""
    m = re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", err.message)
    if not m:
        return []
    got, want = int(m.group(2)), int(m.group(3))
    channels = sorted({v for p, v in _leaves(get(cfg, "model"), "model")
                       if p.rsplit(".", 1)[-1] in CHANNEL_KEYS and isinstance(v, int) and v > 0}, reverse=True)

    def side(n: int, c: int):
        s = (n / c) ** 0.5 if n % c == 0 else 0
        if not s or s != int(s):
            return None
        found = _valued(cfg, ["model"], SIZE_KEYS, int(s))
        return (found[0][0], int(s)) if found else None

    for c in channels:
        g, w = side(got, c), side(want, c)
        if g and w and g[0] != w[0]:
            (gp, gs), (wp, ws) = g, w
            text = (f"the layer receives {got} features ({c} x {gs} x {gs}: {gp} = {_show(get(cfg, gp))}) but is "
                    f"built for {want} ({c} x {ws} x {ws}: {wp} = {_show(get(cfg, wp))})")
            return [Explanation(gp, text, {"received_features": got, "expected_features": want, "other_key": wp},
                                f"make {gp} and {wp} the same size")]
    return []


def _target_size(cfg, err, comps) -> list[Explanation]:
    m = re.search(r"Target size \(torch\.Size\(\[([\d, ]+)\]\)\) must be the same as input size "
                  r"\(torch\.Size\(\[([\d, ]+)\]\)\)", err.message)
    if not m:
        return []
    target, pred = int(m.group(1).split(",")[-1]), int(m.group(2).split(",")[-1])
    tkeys = [p for p, _ in _valued(cfg, ["model"], ("mask_size",), target)]
    pkeys = [p for p, _ in _valued(cfg, ["model"], ("output_size", "roi_feat_size"), pred)]
    pkeys += [p for p, _ in _valued(cfg, ["model"], ("output_size", "roi_feat_size"), pred // 2) if pred % 2 == 0]
    pkeys = [p for p in pkeys if "mask" in p] or pkeys
    if not pkeys:
        return []
    p = pkeys[0]
    text = (f"the head predicts {pred} x {pred} ({p} = {_show(get(cfg, p))}"
            + (", upsampled x2" if get(cfg, p) == pred // 2 else "") + f") while the targets are {target} x {target}"
            + (f" ({tkeys[0]} = {target})" if tkeys else ""))
    return [Explanation(p, text, {"predicted_size": pred, "target_size": target, "target_key": tkeys[:1]},
                        f"keep {p} and {tkeys[0] if tkeys else 'the target size'} consistent")]


def _class_weight(cfg, err, comps) -> list[Explanation]:
    """A per-class weight list whose length is not the number of classes the classifier scores."""
    msg = err.message
    m1 = re.search(r"defined either for all (\d+) classes or no classes", msg)
    m2 = re.search(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)", msg)
    m3 = re.search(r"index (\d+) is out of bounds for dimension \d+ with size (\d+)", msg)
    if not (m1 or m2 or m3):
        return []
    roots = list(dict.fromkeys((comps or []) + ["model"]))
    out = []
    for root in roots:
        for path, d in walk_dicts(get(cfg, root), root):
            cw = d.get("class_weight")
            if not isinstance(cw, (list, tuple)) or not cw:
                continue
            n = len(cw)
            if m1:
                want = int(m1.group(1))
            elif m2:
                a, b = int(m2.group(1)), int(m2.group(2))
                want = b if n == a else a if n == b else None
            else:
                want = int(m3.group(1)) + 1 if n == int(m3.group(2)) else None
            if want is None or want == n or f"{path}.class_weight" in {e.key_path for e in out}:
                continue
            out.append(Explanation(f"{path}.class_weight",
                                   f"{path}.class_weight has {n} entries, but the classifier it weights scores "
                                   f"{want} classes (a softmax classifier scores num_classes + 1: the background "
                                   "or no-object class comes last)",
                                   {"entries": n, "classes_scored": want},
                                   f"give {path}.class_weight {want} entries (one per class, then the background's)"))
        if out:
            break
    return out[:2]


def _none_operand(cfg, err, comps) -> list[Explanation]:
    if "NoneType" not in err.message:
        return []
    fr = [f for f in frames(err.traceback) if _library(f[0])]
    if not fr:
        return []
    src = fr[-1][3]
    names = set(re.findall(r"\b(\w+)\b", src))
    out = []
    for comp in comps:
        d = get(cfg, comp)
        if not is_mapping(d):
            continue
        for k, v in d.items():
            if v is None and k in names:
                out.append(Explanation(f"{comp}.{k}", f"{comp}.{k} is None, and `{src}` uses it",
                                       {"source": src}, f"set {comp}.{k}"))
    return out[:2]


TOO_SMALL = re.compile(r"Kernel size can't be greater than actual input size|Output size is too small|"
                       r"Expected more than 1 value per channel when training")


def _scales(cfg, phase: str) -> list[tuple[str, tuple[int, int]]]:
    """(key, (w, h)) of each resize scale of the loaders the phase reads (train for the loss)."""
    loaders = ("train_dataloader",) if phase in ("loss", "step", "train") else ("test_dataloader", "val_dataloader")
    out = []
    for loader in loaders:
        for path, d in walk_dicts(get(cfg, loader), loader):
            scale = d.get("scale", d.get("img_scale")) if "Resize" in _short(d.get("type")) else None
            if isinstance(scale, int):
                scale = (scale, scale)
            if isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(v, int) for v in scale):
                out.append((f"{path}.{'scale' if 'scale' in d else 'img_scale'}", (scale[0], scale[1])))
    return out


def _too_small(cfg, err, comps, phase: str) -> list[Explanation]:
    """A layer whose input shrank below its kernel (or to one value per channel): the input is
    too small for the network's downsampling. When the audit's synthetic input is smaller than
    the images the config's own pipeline makes, no key explains it, and the finding says so."""
    if not TOO_SMALL.search(err.message):
        return []
    where = getattr(err, "module", None) or (comps[0] if comps else "the model")
    size = err.extra.get("input_size") if isinstance(getattr(err, "extra", None), dict) else None
    scales = _scales(cfg, phase)
    shown = "x".join(map(str, size)) if size else None
    if scales and size and max(size) < min(scales[0][1]):
        key, (w, h) = scales[0]
        return [Explanation(None, f"no config key explains this failure: the feature map reaching {where} is "
                                  f"smaller than its kernel because the audit's synthetic input ({shown}) is smaller "
                                  f"than the {w}x{h} images the config's pipeline makes ({key}); the network "
                                  "downsamples more than that input allows",
                            {"input_size": size, "config_scale": [w, h], "scale_key": key, "explained": False},
                            f"audit again with --input-size {h}x{w}")]
    if scales:
        key, (w, h) = scales[0]
        return [Explanation(key, f"the feature map reaching {where} is smaller than its kernel at the config's "
                                 f"input scale {key} = {_show(get(cfg, key))}: the images are too small for the "
                                 "network's downsampling (the stride-2 layers up to that module)",
                            {"input_size": size, "config_scale": [w, h]},
                            f"raise {key}, or downsample less in the layers before {where}")]
    return [Explanation(None, f"no config key explains this failure: the feature map reaching {where} is smaller "
                              f"than its kernel for the input {shown or 'given'}, and the config names no resize "
                              "scale to check it against",
                        {"input_size": size, "explained": False}, "audit again with a larger --input-size")]


def _quoted_value(cfg, err, comps) -> list[Explanation]:
    """A path, a name or a word the failure quotes that a config key holds (a file that is not
    there, a metric name nothing reports): that key."""
    if err.type not in ("FileNotFoundError", "KeyError", "ValueError", "OSError", "IsADirectoryError"):
        return []
    quoted = {q for q in re.findall(r"'([^'\n]{3,300})'", err.message or "") if not q.isdigit()}
    if not quoted:
        return []
    out = []
    for top in list(cfg.keys()) if is_mapping(cfg) else ():
        for path, value in _leaves(cfg[top], top):
            if isinstance(value, str) and value in quoted:
                out.append(Explanation(path, f"{path} = {value!r} is the value the failure names",
                                       {"value": value}, f"check {path}: the failure names its value"))
    return out[:2] if len(out) <= 2 else []  # a value set in many places points at none of them


def explain(cfg, err, phase: str = "") -> list[Explanation]:
    """The config keys that explain ``err`` (an ErrorInfo); empty when none does."""
    if cfg is None or err is None or not_the_models_fault(err):
        return []  # (an op without a CPU kernel, the audit's own limits: nothing in the config explains it)
    refused = runner_refusal(cfg, err)
    if refused:
        return refused
    comps = components(cfg, err)
    for strategy in (_preprocessor, _feature_levels, _conv, _linear, _target_size, _class_weight, _none_operand,
                     batch_of_one, topk_beyond_candidates, loss_type_unfit, uneven_image_size):
        found = strategy(cfg, err, comps)
        if found:
            return found
    found = missing_result(cfg, err, comps, phase) or pipeline_input(cfg, err, comps, phase) or \
        _too_small(cfg, err, comps, phase)
    return found or _assert(cfg, err, comps) or asserted_dict(cfg, err, comps) or _quoted_value(cfg, err, comps)


def unexplained(cfg, err) -> Explanation | None:
    """For a failure no strategy traces (and the model's own, not the machine's): a plain statement
    that no config key explains it, why, and the component whose settings to read."""
    if cfg is None or err is None or not_the_models_fault(err) or missing_package(err.message or "") \
            or err.type in ("ImportError", "ModuleNotFoundError") or NO_NETWORK in (err.message or ""):
        return None  # the machine's doing (DA006, the blocked network), which its own finding says
    if "the config has no `model`" in (err.message or ""):
        return None  # the crash's own finding names the key: `model`
    comps = components(cfg, err)
    place = comps[0] if comps else None
    kind = _short(get(cfg, place).get("type")) if place and is_mapping(get(cfg, place)) else ""
    raised = f" in {place}" + (f" ({kind})" if kind else "") if place else ""
    return Explanation(None, f"no config key explains this failure: {err.short()}{raised} names no value the config "
                             "sets that the audit can trace (it compares channel counts, feature-map and RoI sizes, "
                             "class counts and class weights, feature levels, pipeline results and unset keys)",
                       {"explained": False, "fallback": True, "component": place},
                       f"read the settings of {place} against the traceback (--debug)" if place
                       else "run with --debug for the traceback")


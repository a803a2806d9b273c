import re

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import DATALOADERS, dataset_leaves, is_mapping, node_type, walk_dicts
from detaudit.rule.merge import where

from ._component_dicts import constructors_of
from ._required_args import (ROOT_OWNER, always_given, always_typed, component_dicts, dataloader_gaps,
                             dropped_by_delete, history_of, qualname, required_args)

# A loop's length is DA836's (it reports the loop mmengine builds from by_epoch too).
LOOP_LENGTHS = ("max_epochs", "max_iters")
# What a dataloader dict holds that is built from a registry by name and has no default type.
LOADER_FUNCTIONS = ("collate_fn", "worker_init_fn")


def _with_base_type(history, path: str) -> str:
    """``type='MaskRCNN'`` when a base wrote the type the config lost, else ``type``."""
    earlier = [a for a in (history.of(f"{path}.type") if history is not None else ()) if a.literal]
    return f"type={earlier[-1].value!r}" if earlier and isinstance(earlier[-1].value, str) else "type"


def _finding(ctx, history, path, missing, what, built, evidence):
    sm = ctx.source_map
    at = where(sm.locate(path))
    key_path = path if missing == ["type"] else f"{path}.{missing[0]}"
    message = f"{path} ({at}) {what}"
    wanted = [_with_base_type(history, path) if k == "type" else k for k in missing]
    fix = f"give {path} " + ", ".join(wanted)
    deleted = dropped_by_delete(history, path)
    if deleted is not None:
        owner, by, dropped, base_at = deleted
        gave = f": the base ({base_at}) had given {', '.join(dropped)}" if dropped else ""
        message += f"; {owner}=dict(_delete_=True, ...) at {by} threw away the base's {owner}{gave}"
        fix = (f"remove _delete_=True from {owner} at {by} (mmengine then merges the override into the base "
               f"and keeps {', '.join(dropped[:6]) or 'its keys'}), or "
               + (f"write {path} out in full ({', '.join(wanted)}, ...)" if set(dropped) - set(missing)
                  else f"give {path} " + ", ".join(wanted)))
        evidence = dict(evidence, delete_at=by, delete_on=owner, dropped_keys=dropped)
    return Violation(message=message, key_path=key_path, evidence=dict(evidence, missing=missing), fix=fix)


def _repeated(seen: list, path: str, d, missing) -> bool:
    """Whether the same dict lacking the same keys was reported for another stage (a
    ``test_dataloader = val_dataloader``, a ``test_evaluator = val_evaluator``); else remember it."""
    head, _, rest = path.partition(".")
    key = (head.split("_", 1)[-1] + "." + rest, missing)
    if any(k == key and other == d for k, other in seen):
        return True
    seen.append((key, d))
    return False


def _replaced_lists(ctx) -> dict:
    try:
        return {r.key_path: r for r in ctx.replaced_lists}
    except FactUnavailable:
        return {}


def _da802s(replaced: dict, path: str, missing: list) -> bool:
    """Whether DA802 reports these keys: the dict is an element of a list a later file replaced,
    and the replaced list's elements had them (DA802 lists what each element lost, ``type`` too)."""
    head, _, index = path.rpartition(".")
    r = replaced.get(head)
    return r is not None and index.isdigit() and any(set(missing) <= set(old.keys) for old in r.old)


def _rebound(ctx) -> dict:
    """Key path -> the base keys a pure-Python config's ``x = dict(...)`` over an inherited dict
    dropped (DA004's), without ``_delete_=True``."""
    try:
        return {ov.key_path: set(ov.dropped) for ov in ctx.source_map.overrides if not ov.explicit_delete}
    except (FactUnavailable, AttributeError):
        return {}


def _misspelt(constructors, d, path: str) -> bool:
    """Whether the dict also sets a key its constructor does not take: the missing argument is
    most likely that key misspelt (``scale`` for ``RandomChoiceResize``'s ``scales``), DA831's."""
    try:
        sig = constructors.signature(d.get("type"), path, d)
    except Exception:  # noqa: BLE001 - a signature that cannot be read says nothing
        return False
    return sig is not None and any(sig.accepts(k) is False for k in d.keys())


def _pipeline_gaps(ctx, cfg, history, seen, constructors):
    """Datasets behind a dataloader with no transform at all, and no wrapper's pipeline over them:
    they yield raw annotation dicts, with no image loaded and nothing packed for the model. Only
    datasets whose class takes a ``pipeline`` (mmengine's ``BaseDataset`` and its kind): a dataset
    of its own making may return model inputs directly."""
    for loader, path, ds in dataset_leaves(cfg):
        if ds.get("pipeline", None) or constructors is None:
            continue
        try:
            sig = constructors.signature(ds.get("type"), path, ds)
        except Exception:  # noqa: BLE001 - a type that does not resolve is DA848's
            sig = None
        if sig is None or sig.params is None or "pipeline" not in sig.params:
            continue
        dl = cfg.get(loader)
        wrappers = [d for p, d in walk_dicts(dl.get("dataset"), f"{loader}.dataset")
                    if path.startswith(p + ".") and d.get("pipeline", None)]
        # a wrapper's pipeline that loads the images itself stands in for the inner one; one that starts
        # from loaded images (MultiImageMixDataset's Mosaic) reads what the inner pipeline should have made
        if any(_loads_images(w["pipeline"]) for w in wrappers) or _repeated(seen, path, ds, ["pipeline"]):
            continue
        after = (f" the pipeline of the wrapper over it ({node_type(wrappers[-1])}) starts from loaded images, and"
                 if wrappers else "")
        yield _finding(ctx, history, path, ["pipeline"],
                       f"has no pipeline: the dataset yields its raw annotation dicts (no image is loaded, nothing "
                       f"is packed into 'inputs' and 'data_samples'),{after} the first batch of {loader} fails"
                       + ("" if wrappers else " in the model's data preprocessor"),
                       loader, {"dataloader": loader, "dataset": node_type(ds)})


def _loads_images(pipeline) -> bool:
    """Whether a pipeline has an image-loading step (``LoadImageFromFile`` and its kind)."""
    return any(is_mapping(step) and re.search(r"Load\w*Image", node_type(step) or "")
               for step in (pipeline if isinstance(pipeline, (list, tuple)) else ()))


def _loader_findings(ctx, cfg, history, seen, constructors=None):
    yield from _pipeline_gaps(ctx, cfg, history, seen, constructors)
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        missing = dataloader_gaps(dl)
        if missing and not _repeated(seen, loader, dl, missing):
            yield _finding(ctx, history, loader, missing,
                           "has a batch_sampler dict but no batch_size: mmengine's Runner.build_dataloader takes "
                           "'batch_size' out of the dataloader dict, without a default, to give it to the batch "
                           f"sampler, and building {loader} fails with KeyError", loader, {"dataloader": loader})
        for part in LOADER_FUNCTIONS:
            fn = dl.get(part, None)
            if is_mapping(fn) and "type" not in fn and not _repeated(seen, f"{loader}.{part}", fn, ["type"]):
                yield _finding(ctx, history, f"{loader}.{part}", ["type"],
                               f"has no type: Runner.build_dataloader looks the {part} function up by its 'type' "
                               f"and fails with KeyError", loader, {"dataloader": loader})


@rule(code="DA843", name="component-incomplete", severity="error", tier="static",
      needs=("constructors", "source_map", "key_history", "replaced_lists", "static_issues"))
def component_incomplete(ctx):
    """A component dict the registries build lacks its type, an argument its class needs, or a dataloader part.

    ## What it does
    Walks the dicts the registries build (as DA831 does: the model and its parts, each
    dataloader's datasets, transforms and sampler, the evaluators, hooks, schedulers and loops,
    and the optimizer and visualizer)
    and reports, once per dict:

    - a dict with no ``type`` where every config of mmdet 3.3.0's zoo gives one (the place is the
      nearest typed ancestor's type and the keys from there: ``FasterRCNN``'s ``backbone``, a
      ``CocoDataset``'s ``pipeline`` steps, the ``model`` itself, a dataloader's ``sampler``).
      When ``model`` has no type its parts are not reported again;
    - a constructor argument without default that the dict does not give, for the arguments the
      zoo always writes for that class (``FPN``'s ``in_channels``, ``ResNet``'s ``depth``, a
      ``RepeatDataset``'s ``times``). Arguments the building part passes itself (a sampler's
      ``dataset``, a scheduler's ``optimizer``, a loop's ``runner``, a head's ``train_cfg``) are
      left out somewhere in the zoo and never reported. The table is
      ``rules/zoo_required_args.json``, written by ``scripts/zoo_required_args.py``;
    - a dataloader dict with a ``batch_sampler`` dict but no ``batch_size``, or with a
      ``collate_fn``/``worker_init_fn`` dict without ``type`` (``Runner.build_dataloader`` pops
      them without a default). A dataloader without ``dataset`` or ``sampler`` is DA809's;
    - a dataset behind a dataloader (through its wrappers) whose class takes a ``pipeline`` but
      is given none, or an empty one, and no wrapper's pipeline over it: ``BaseDataset`` then returns the raw annotation dict of
      each image, nothing loads the image or packs ``inputs``, and the first batch fails.

    When a ``_delete_=True`` on the dict or one of its ancestors threw the base's value away, the
    finding says where, and which keys the base had given. A training loop without its length is
    DA836's; an element of a list a later file replaced, lacking keys the base's elements had, is
    DA802's, a dict a pure-Python config rebound over the base's (``model = dict(...)``) DA004's;
    a dict that also sets a key its constructor does not take (a misspelt argument) is
    DA831's. Under ``--no-exec`` constructors are not read (only the first and last checks run).

    ## Why is this bad?
    The registry raises ``KeyError`` (no ``type``) or ``TypeError`` (a missing argument) when the
    Runner builds the part: for the model, after the config was accepted; for a validation
    dataloader or evaluator, after the first training epoch. The traceback names the class, not
    the key to edit. The usual cause is ``_delete_=True`` on an override that only meant to change
    a few keys: it drops every key of the base that the override does not repeat.

    ## Example
    ```python
    _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
    model = dict(_delete_=True, roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)))
    ```

    ## References
    - mmengine ``Registry.build`` (``build_from_cfg``) and ``Runner.build_dataloader``
    """
    if ctx.no_exec and ctx.static_issues:
        return  # a base the static reader could not read may hold the keys that look missing (DA094)
    cfg = ctx.cfg
    constructors = constructors_of(ctx)
    history = history_of(ctx)
    seen: list = []
    yield from _loader_findings(ctx, cfg, history, seen, constructors)
    reported: list[str] = []
    replaced, rebound = _replaced_lists(ctx), _rebound(ctx)
    for path, d, place, built in component_dicts(cfg):
        if any(path.startswith(r + ".") for r in reported):
            continue  # a part of a dict already reported (a model without type)
        if "type" not in d:
            if always_typed(place):
                reported.append(path)
                if _da802s(replaced, path, ["type"]) or "type" in rebound.get(path, ()) \
                        or _repeated(seen, path, d, ["type"]):
                    continue
                owner = place[1] if place[0] == ROOT_OWNER else f"{place[0]}'s {place[1]}"
                yield _finding(ctx, history, path, ["type"],
                               f"has no type: the registry cannot tell what to build, and building {built} "
                               f"fails with KeyError (every zoo config gives {owner} a type)", built,
                               {"place": list(place)})
            continue
        if constructors is None:
            continue
        try:
            resolved = constructors.resolve(d.get("type"), path)
        except Exception:  # noqa: BLE001 - a type that does not resolve is the build's to report (DA002)
            resolved = None
        if resolved is None:
            continue
        cls, needed = qualname(resolved[0]), required_args(resolved[0]) or []
        missing = [a for a in needed if a not in d and always_given(cls, a)
                   and not (path == "train_cfg" and a in LOOP_LENGTHS)]
        if not missing or _misspelt(constructors, d, path):
            continue
        reported.append(path)
        if _da802s(replaced, path, missing) or set(missing) & rebound.get(path, set()) \
                or _repeated(seen, path, d, missing):
            continue
        kind = node_type(d)
        yield _finding(ctx, history, path, missing,
                       f"gives {kind} no {', '.join(missing)}: {'it has' if len(missing) == 1 else 'they have'} no "
                       f"default (every zoo config of {kind} writes {'it' if len(missing) == 1 else 'them'}), and "
                       f"building {built} fails with TypeError", built, {"type": kind, "resolved_to": cls})

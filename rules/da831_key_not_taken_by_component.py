from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts
from detaudit.rule.merge import where
from detaudit.rule.source import source_of

from ._component_dicts import constructors_of, own_inits, registry_built, runner_roots
from ._legacy_nested import nested_leftovers


def _named_in_mro(cls, key: str) -> bool | None:
    """True when a constructor anywhere in the class's MRO names ``key`` (multiple inheritance
    the signature chain does not follow); None when one cannot be read. A registry passes
    keywords only, so a mixin's ``*args`` pass-through (a scheduler's) takes none of them; another
    class's ``*args`` may feed a base chosen at import (unknowable)."""
    import inspect

    for klass, _init, params in own_inits(cls):
        if params is None:
            return None
        if key in params:
            return True
        var_args = [p.name for p in params.values() if p.kind is inspect.Parameter.VAR_POSITIONAL]
        if var_args and not klass.__name__.endswith("Mixin") and not (
                _passes_on_to_super(_init, var_args[0]) and _constructor_after(cls, klass)):
            return None
    return False


def _constructor_after(cls, klass) -> bool:
    """Whether a class after ``klass`` in ``cls``'s MRO defines a constructor: when none does, the
    pass-through lands on ``object``, as it does where the real base is chosen at import and
    missing here (mmdet's ``BaseReID`` over mmpretrain's classifier, or ``object`` without it)."""
    mro = cls.__mro__
    return any("__init__" in k.__dict__ for k in mro[mro.index(klass) + 1:-1])


def _passes_on_to_super(init, var_args: str) -> bool:
    """Whether a constructor's ``*args`` only go on to ``super().__init__(*args, ...)`` (DeformableDETR's):
    the next class of the MRO then says what the keywords are."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(source_of(init)))
    except (OSError, TypeError, SyntaxError):
        return False
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == var_args]
    passed = [a.value for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and n.func.attr == "__init__" and isinstance(n.func.value, ast.Call)
              and getattr(n.func.value.func, "id", None) == "super"
              for a in n.args if isinstance(a, ast.Starred) and isinstance(a.value, ast.Name)
              and a.value.id == var_args]
    return bool(uses) and len(uses) == len(passed)


def _read_by(cls, key: str, child: str) -> bool:
    """Whether the source of a class (or its bases) names ``key`` as a string on a line that
    names the part ``child``: a parent that takes the key out of, or reads it from, the dict it
    builds that part from (``loss_cls.get('bg_cls_weight')``)."""
    import inspect

    for klass in getattr(cls, "__mro__", ())[:-1]:
        try:
            source = source_of(klass)
        except (OSError, TypeError):
            continue
        if any((f"'{key}'" in line or f'"{key}"' in line) and child in line for line in source.splitlines()):
            return True
    return False


def _rejected(constructors, d, path, parent, key) -> bool:
    """The signature's answer, confirmed on the class: not named by any constructor of its MRO,
    no ``*args`` pass-through, and not a key the dict's parent component reads itself."""
    resolved = constructors.resolve(d.get("type"), path)
    if resolved is None or not isinstance(resolved[0], type):
        return False
    if _named_in_mro(resolved[0], key) is not False:
        return False
    if parent is not None:
        up = constructors.resolve(parent[1].get("type"), parent[0])
        child = path[len(parent[0]) + 1:].split(".")[0]
        if up is not None and isinstance(up[0], type) and _read_by(up[0], key, child):
            return False
    return True


def _ancestors(path: str):
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        yield ".".join(parts[:i])


def _elsewhere(node, root: str, key: str, here: str) -> list[str]:
    """Key paths under the same part of the config where ``key`` is set on another dict (where it belongs)."""
    return [f"{p}.{key}" for p, d in walk_dicts(node, root) if p != here and key in d][:3]


@rule(code="DA831", name="key-not-taken-by-component", severity="error", tier="static",
      needs=("constructors", "type_changes", "source_map"))
def key_not_taken_by_component(ctx):
    """A component dict sets a key its type's constructor does not take.

    ## What it does
    Resolves the ``type`` of every dict the registry builds with all its keys: under ``model``
    (and the assigners and samplers of its ``train_cfg``), under each dataloader's ``dataset``
    (wrappers, datasets, pipeline transforms) and ``sampler``, the evaluators, the hooks of
    ``default_hooks`` and ``custom_hooks``, each ``param_scheduler``, a loop given a ``type``, the
    ``optim_wrapper``'s optimizer and the visualizer with its backends
    (not the other ``*_cfg`` dicts and layer settings a component passes to helpers such as
    ``build_norm_layer``) in the registry it is built from, reads
    which keywords its constructor takes (following ``**kwargs`` to the parent class or to the
    inner object it builds; a constructor that takes any keyword is left alone) and reports each
    key it does not take, with where the same key is set elsewhere in the model (where it
    probably belongs: ``model.roi_head.bbox_head`` for a ``model.bbox_head`` written on a
    two-stage detector). A key is reported only when no constructor of the class's MRO names it,
    none passes ``*args`` on, and the component that builds the dict does not read the key
    itself (DETR's head takes ``bg_cls_weight`` out of its ``loss_cls``). Keys kept from a base
    dict whose ``type`` changed are DA801's, MMDetection 2.x keys DA003's.

    ## Why is this bad?
    The registry passes every key to the constructor: the model (or the dataloader, or the
    evaluator, at the end of the first epoch) fails to build with ``TypeError: __init__() got an
    unexpected keyword argument``, after the config was accepted and the data prepared. A setting put one level too high (a head's ``num_classes`` on the detector, a
    ``bbox_head`` on a two-stage detector whose box head lives under ``roi_head``) is the usual
    cause; the setting the user meant to change is not changed anywhere.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(bbox_head=dict(num_classes=3))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
    ```
    """
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    kept = {(c.key_path, k) for c in ctx.type_changes for k in c.kept}
    legacy = {hit[0] for hit in nested_leftovers(ctx.cfg, lambda *a: None)}  # DA003's 2.x keys
    sm = ctx.source_map
    seen = set()
    for root, node, built in runner_roots(ctx.cfg):
        typed = {p: d for p, d in walk_dicts(node, root) if is_mapping(d) and "type" in d}
        for path, d in walk_dicts(node, root):
            kind = d.get("type", None)
            if kind is None or not registry_built(path):
                continue
            try:
                sig = constructors.signature(kind, path, d)
            except Exception:  # noqa: BLE001 - a type that does not resolve is the build's to report (DA002)
                sig = None
            if sig is None or sig.params is None:
                continue
            for key in list(d.keys()):
                key_path = f"{path}.{key}"
                if (path, key) in kept or key_path in legacy or sig.accepts(key) is not False:
                    continue
                parent = next(((p, typed[p]) for p in _ancestors(path) if p in typed), None)
                if not _rejected(constructors, d, path, parent, key):
                    continue
                written = (where(sm.locate(key_path)), key)
                if written in seen:  # test_dataloader = val_dataloader: once
                    continue
                seen.add(written)
                others = _elsewhere(node, root, key, path)
                there = f"; {key} is set at {', '.join(others)}, where it is taken" if others else ""
                raised = ("mmengine's Runner refuses a loop given both type and by_epoch" if key == "by_epoch"
                          and root in ("train_cfg", "val_cfg", "test_cfg") else f"building {built} raises TypeError")
                yield Violation(
                    message=(f"{key_path} ({where(sm.locate(key_path))}): {node_type(d)}'s constructor does not "
                             f"take '{key}' ({sig.shown()}): {raised}{there}"),
                    key_path=key_path, evidence={"type": node_type(d), "key": key, "signature": sig.shown(),
                                                 "resolved_to": sig.qualname, "set_elsewhere": others},
                    fix=(f"move the setting to {others[0]}" if others else
                         f"remove {key} from {path} (or set it on the part that takes it)"))

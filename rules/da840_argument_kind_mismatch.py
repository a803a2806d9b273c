import collections.abc
import inspect
import typing

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts
from detaudit.rule.merge import where

from ._component_dicts import component_roots, constructors_of, own_inits, registry_built

ONE, MANY, TEXT, TEXTS, OTHER = "one", "many", "text", "texts", "other"


def _kinds(annotation, depth: int = 0) -> set[str] | None:
    """What an argument annotation admits: one config dict (or the object built from it), a
    sequence, something else; None when it cannot be told (no annotation, Any, a type variable)."""
    if annotation is inspect.Parameter.empty or annotation is typing.Any or depth > 6:
        return None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        kinds: set[str] = set()
        for arg in args:
            inner = _kinds(arg, depth + 1)
            if inner is None:
                return None
            kinds |= inner
        return kinds
    if annotation is type(None):
        return set()
    target = origin or annotation
    if not inspect.isclass(target):
        return None
    if issubclass(target, (str, bytes)):
        return {TEXT}
    if issubclass(target, collections.abc.Mapping):
        return {ONE}
    if issubclass(target, (list, tuple)) or target in (collections.abc.Sequence, collections.abc.Iterable):
        return {MANY}
    if target.__module__.split(".")[0] in ("mmengine", "mmdet", "mmcv", "torch"):
        return {ONE}  # an object the config dict builds (a dataset, a module)
    return {OTHER}


def _value_kind(value) -> str | None:
    if is_mapping(value):
        return ONE
    if isinstance(value, (list, tuple)) and value and all(is_mapping(v) for v in value):
        return MANY
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return TEXTS  # several paths where one is read: the 2.x habit of concatenating by listing files
    return None


def _annotation(cls, key: str):
    """The annotation of ``key`` in the first constructor of the class's MRO that names it."""
    for _klass, init, params in own_inits(cls):
        if params is None:
            return inspect.Parameter.empty
        if key in params:
            try:
                return typing.get_type_hints(init).get(key, inspect.Parameter.empty)
            except Exception:  # noqa: BLE001 - an annotation that does not evaluate says nothing
                return inspect.Parameter.empty
    return inspect.Parameter.empty


@rule(code="DA840", name="argument-kind-mismatch", severity="error", tier="static",
      needs=("constructors", "source_map"))
def argument_kind_mismatch(ctx):
    """A list of dicts where the component takes one, one dict where it takes a list, a list of strings where it takes one.

    ## What it does
    For every dict the registries build with all its keys (as DA831 walks them: the model's
    non-model parts, each dataloader's dataset wrappers, datasets, transforms and sampler, the
    evaluators, hooks, schedulers, loops) outside the model, resolves the ``type`` and reads the
    annotation of each argument the config sets from the constructor that takes it. It reports a
    list of dicts given to an argument annotated to take one config dict or one built object
    (``RepeatDataset(dataset=[...])``, ``MultiImageMixDataset(dataset=[...])``), and one dict given
    to an argument annotated to take only a sequence (``ConcatDataset(datasets=dict(...))``), and a
    list of strings given to an argument annotated to take one string (``CocoDataset(ann_file=['a.json',
    'b.json'])``, the 2.x way of concatenating annotation files).
    Arguments with no annotation, or one that admits both, are left alone. Model parts are left to
    the build (mmengine builds a list of module dicts as a ``Sequential``).

    ## Why is this bad?
    The wrapper or component fails when the Runner builds the dataloader (``TypeError: elements
    in datasets sequence should be config or BaseDataset instance``), or, for a dict given where
    a sequence is taken, iterates over the dict's keys; either way after the model was built and
    the data prepared. Mixing several annotation files is the usual cause: the list belongs in a
    ``ConcatDataset`` inside the wrapper.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(
        type='MultiImageMixDataset',
        dataset=[dict(type='CocoDataset', ann_file='a.json'), dict(type='CocoDataset', ann_file='b.json')]))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(
        type='MultiImageMixDataset',
        dataset=dict(type='ConcatDataset', datasets=[dict(type='CocoDataset', ann_file='a.json'),
                                                     dict(type='CocoDataset', ann_file='b.json')])))
    ```
    """
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    sm = ctx.source_map
    seen = set()
    for root, node, built in component_roots(ctx.cfg):
        if root == "model":
            continue
        for path, d in walk_dicts(node, root):
            kind = d.get("type", None)
            if kind is None or not registry_built(path):
                continue
            resolved = constructors.resolve(kind, path)
            if resolved is None or not inspect.isclass(resolved[0]):
                continue
            for key, value in d.items():
                given = _value_kind(value)
                if given is None:
                    continue
                admits = _kinds(_annotation(resolved[0], key))
                if not admits or (ONE in admits and MANY in admits):
                    continue
                wrong = (given == MANY and MANY not in admits and ONE in admits) or \
                    (given == ONE and ONE not in admits and MANY in admits) or \
                    (given == TEXTS and admits == {TEXT})
                key_path = f"{path}.{key}"
                written = where(sm.locate(key_path))
                if not wrong or (written, key) in seen:
                    continue
                seen.add((written, key))
                takes = "one config dict (or the object built from it)" if ONE in admits else \
                    "one string" if given == TEXTS else "a sequence"
                got = f"a list of {len(value)} dicts" if given == MANY else \
                    f"a list of {len(value)} strings" if given == TEXTS else "one dict"
                yield Violation(
                    message=(f"{key_path} ({written}) is {got}, but {node_type(d)} takes {takes} as {key!r}: "
                             f"building {built} fails"),
                    key_path=key_path,
                    evidence={"type": node_type(d), "key": key, "given": given, "annotation_admits": sorted(admits)},
                    fix=(f"wrap the list in dict(type='ConcatDataset', datasets=[...]) at {key_path}"
                         if given == MANY and "dataset" in key else
                         f"give {key_path} one string; for several files, one dataset per file inside "
                         "dict(type='ConcatDataset', datasets=[...])" if given == TEXTS else
                         f"give {key_path} {'one dict' if ONE in admits else 'a list'}"))

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping
from detaudit.rule.merge import where

from ._component_dicts import constructors_of, typed_dicts
from ._legacy_nested import nested_leftovers

@rule(code="DA848", name="type-not-registered", severity="error", tier="static",
      needs=("constructors", "custom_import_errors", "source_map"))
def type_not_registered(ctx):
    """A component's ``type`` names nothing the registries hold, or only what a scope the config never sets holds.

    ## What it does
    Resolves the ``type`` of every dict a registry builds (the model and its parts, datasets and
    their pipelines, samplers, evaluators, hooks, schedulers, loops, the optimizer and its
    wrapper, the visualizer) as the Runner will, after the config's ``custom_imports``:

    - a name no registry holds is reported at its ``type`` key with the registered names closest
      to it (the same name in another case first: ``COCODataset`` for ``CocoDataset``);
    - when a config with a dataloader and its loop (what a Runner runs, not a fragment) sets no
      ``default_scope``, a name that only mmdet's registries hold (a detector, a dataset, a
      transform) is reported at ``default_scope``: mmengine's Runner then builds from its own
      registries, where those names do not exist.

    Scoped names (``mmpretrain.VisionTransformer``) and configs whose ``custom_imports`` fail
    (DA005) are left alone: what they would register cannot be known here.

    ## Why is this bad?
    The name is looked up only when the Runner builds the part: a dataset or a metric can fail
    after the model was built and trained for an epoch, with a ``KeyError`` that says "is not in
    the mmengine::dataset registry" and not which key of which file to edit. A config written
    from scratch without ``_base_`` loses ``default_scope='mmdet'`` from mmdet's
    ``default_runtime.py`` and fails the same way on its first component.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='COCODataset', ...))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', ...))
    ```
    """
    constructors = constructors_of(ctx)
    if constructors is None or ctx.custom_import_errors:
        return
    legacy = {hit[0] for hit in nested_leftovers(ctx.cfg, lambda *a: None)}  # DA003 names 2.x types
    sm, seen = ctx.source_map, set()
    # a fragment (a model, a dataset base) is not what a Runner runs: a config with a stage's loop is
    runs = any(is_mapping(ctx.cfg.get(k, None)) for k in ("train_cfg", "val_cfg", "test_cfg")) \
        and any(is_mapping(ctx.cfg.get(k, None)) for k in ("train_dataloader", "val_dataloader", "test_dataloader"))
    scope_set = ctx.cfg.get("default_scope", None) is not None or not runs
    unscoped = []
    for path, d in typed_dicts(ctx.cfg):
        kind = d["type"]
        if "." in kind or f"{path}.type" in legacy or path in legacy:
            continue
        written = where(sm.locate(f"{path}.type"))
        try:
            resolved = constructors.resolve(kind, path)
        except Exception:  # noqa: BLE001 - a registry that fails to answer is the build's to report
            continue
        if resolved is None:
            if (written, kind) in seen:  # test_dataloader = val_dataloader: once
                continue
            seen.add((written, kind))
            close = constructors.similar(kind, path)
            hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
            yield Violation(
                message=f"{path}.type = {kind!r} ({written}) is not a registered name{hint} Building it raises "
                        f"KeyError when the Runner gets to it",
                key_path=f"{path}.type", evidence={"type": kind, "similar": close},
                fix=f"use a registered name ({close[0]!r})" if close else
                    "use a registered name, or import the module that registers it (custom_imports)")
        elif not scope_set:
            scope = constructors.only_in_scope(kind, path)
            if scope:
                unscoped.append((path, kind, scope))
    if unscoped:
        path, kind, scope = unscoped[0]
        names = ", ".join(f"{p}.type={k!r}" for p, k, _ in unscoped[:3]) + (", ..." if len(unscoped) > 3 else "")
        yield Violation(
            message=f"default_scope is not set: mmengine's Runner builds from its own registries, where "
                    f"{len(unscoped)} type(s) of this config are not registered ({names}; they are {scope}'s). "
                    f"The first build fails with KeyError",
            key_path="default_scope", evidence={"scope": scope, "types": [f"{p}.type" for p, _, _ in unscoped]},
            file=str(ctx.config_path) if ctx.config_path is not None else None,
            fix=f"set default_scope = {scope!r} (mmdet's default_runtime.py sets it), or inherit that base")

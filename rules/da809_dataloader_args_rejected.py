from detaudit.rule import Violation, rule
from detaudit.rule.merge import where

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
# DataLoader arguments mmengine's Runner passes through from the loader's config
ARGS = ("batch_size", "num_workers", "persistent_workers", "pin_memory", "prefetch_factor", "timeout", "drop_last")


def _rejection(loader) -> str | None:
    """What torch's DataLoader says about these arguments, as the config wrote them (None: accepted)."""
    import warnings

    import torch.utils.data as tud

    kwargs = {k: loader[k] for k in ARGS if k in loader}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (more workers than this machine's cores: nothing is started here)
            tud.DataLoader(list(range(4)), **kwargs)
    except (ValueError, TypeError, AssertionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# Entries mmengine's Runner.build_dataloader pops without a default (a KeyError when absent)
REQUIRED = ("dataset", "sampler")


def _delete_note(ctx, name: str, missing: list) -> str:
    """Where a ``_delete_=True`` threw the base's entries away, and which of them (DA843's reading)."""
    from ._required_args import dropped_by_delete, history_of

    deleted = dropped_by_delete(history_of(ctx), name)
    if deleted is None:
        return (" (a loader rewritten with _delete_=True keeps none of the base's entries)"
                if "sampler" in missing else "")
    owner, by, dropped, base_at = deleted
    return (f"; {owner}=dict(_delete_=True, ...) at {by} threw away the base's {owner} ({base_at})"
            + (f", with its {', '.join(dropped)}" if dropped else ""))


@rule(code="DA809", name="dataloader-args-rejected", severity="error", tier="static",
      needs=("source_map", "key_history"))
def dataloader_args_rejected(ctx):
    """A dataloader's worker or batch arguments, as the config writes them, are rejected by torch's DataLoader.

    ## What it does
    Passes each ``*_dataloader``'s own ``batch_size``, ``num_workers``, ``persistent_workers``,
    ``pin_memory``, ``prefetch_factor``, ``timeout`` and ``drop_last`` to ``torch.utils.data.DataLoader``
    (over a four-item list) before anything replaces them, and reports what it rejects, at the key
    that makes it reject. Also reports a dataloader dict without the entries mmengine's
    ``Runner.build_dataloader`` requires (``dataset``, ``sampler``), which a loader rewritten
    with ``_delete_=True`` easily drops (the finding names the ``_delete_`` and what the base
    had given). The run tier's private copy sets ``num_workers=0`` and
    ``persistent_workers=False`` to run in one process; this rule checks the values training will
    use.

    ## Why is this bad?
    ``num_workers=0`` (set to debug, or on Windows) under a base that keeps
    ``persistent_workers=True`` stops training before its first iteration with
    ``ValueError: persistent_workers option needs num_workers > 0``. A dataloader without a
    ``sampler`` stops it with a bare ``KeyError: 'sampler'`` (older mmengine fell back to an
    unshuffled, undistributed sampler without a word).

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataloader = dict(num_workers=0)
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    train_dataloader = dict(num_workers=0, persistent_workers=False)
    ```
    """
    if ctx.no_exec:
        return
    cfg = ctx.cfg
    for name in LOADERS:
        loader = cfg.get(name, None)
        if not hasattr(loader, "get"):
            continue
        missing = [k for k in REQUIRED if k not in loader]
        if missing and loader:
            loc = ctx.source_map.locate(name)
            yield Violation(
                message=(f"{name} ({where(loc)}) has no {' and no '.join(missing)}: mmengine's Runner.build_dataloader "
                         f"requires {' and '.join(repr(k) for k in missing)} and stops with KeyError: {missing[0]!r}"
                         + _delete_note(ctx, name, missing)),
                key_path=f"{name}.{missing[-1]}", evidence={"missing": missing},
                fix=(f"add sampler=dict(type='DefaultSampler', shuffle="
                     f"{name == 'train_dataloader'}) to {name}" if "sampler" in missing
                     else f"give {name} a dataset"))
        why = _rejection(loader)
        if why is None:
            continue
        culprit = next((k for k in ("persistent_workers", "prefetch_factor", "num_workers", "batch_size", "timeout")
                        if k in loader and k.split("_")[0] in why.lower()), None) or "num_workers"
        loc = ctx.source_map.locate(f"{name}.{culprit}")
        shown = {k: loader[k] for k in ARGS if k in loader}
        yield Violation(
            message=f"{name}: torch's DataLoader rejects {shown}: {why}" + (f" ({culprit} set at {where(loc)})" if loc else ""),
            key_path=f"{name}.{culprit}", evidence={"arguments": shown, "error": why},
            fix=("set persistent_workers=False (and prefetch_factor=None) with num_workers=0, or use worker processes"
                 if "num_workers" in why else "use a value DataLoader accepts"))

from detaudit.rule import SAFE, Autofix, FactUnavailable, Violation, rule
from detaudit.rule.fixes import NotLiteral, reset_key
from detaudit.rule.merge import read_by_runner, short_type, where


@rule(code="DA801", name="type-changed-base-keys-kept", severity="error", tier="static",
      needs=("type_changes", "constructors"))
def type_changed_base_keys_kept(ctx):
    """A config changed a dict's ``type`` but kept the base dict's keys, which the new type does not take.

    ## What it does
    Finds every dict whose ``type`` a child config (or ``--cfg-options``) changed without
    ``_delete_=True``: an optimizer turned from ``SGD`` into ``Adam``, a ``CocoMetric`` into a
    ``VOCMetric``, a dataset into a ``RepeatDataset``, a scheduler, a sampler, a hook, a model
    part. mmengine merges the child's dict into the base's key by key, so every key written
    for the old type stays. The rule lists those keys, each with the base file and line that
    wrote it, and says which of them the new type's constructor does not accept: it reads the
    signature of the class the type resolves to in the registry of that key (a ``**kwargs``
    passed on to the parent class counts as the parent's parameters; one a hook passes to the
    object it builds, like ``EMAHook``'s, as that object's). It reports only when some kept
    key is not accepted. Under ``--no-exec`` nothing is imported, so signatures are not read:
    the kept keys are reported without that check, as information (most type changes in
    mmdet's own configs swap in a subclass that takes every kept key).

    ## Why is this bad?
    The merged dict is built as ``NewType(**kept_keys, **new_keys)``: training stops at
    start-up with ``TypeError: __init__() got an unexpected keyword argument 'momentum'``,
    far from the line that caused it, or the key is silently swallowed by a ``**kwargs``.
    The error names neither the base file that wrote the key nor the fix.

    ## Example
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'  # SGD(lr, momentum, weight_decay)
    optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))     # keeps momentum=0.9
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
    optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-4, weight_decay=1e-4))
    ```

    ## Fix
    Safe: ``_delete_=True`` is added to the dict the child writes, and every merged key the new
    type accepts is restated there (values as merged), so the merged dict afterwards lacks
    exactly the keys the constructor rejects. Under ``--no-exec`` (no signature read) there is
    no fix: which keys to drop is not known.

    ## References
    - mmengine "Config" tutorial: "Delete key in dict" (``_delete_=True``)
    """
    try:
        constructors = ctx.constructors
    except FactUnavailable:
        constructors = None  # --no-exec: report the kept keys without reading signatures
    groups = {}  # one dict under two keys (test_evaluator = val_evaluator) is reported once
    for change in ctx.type_changes:
        if change.kept and read_by_runner(change.key_path):
            groups.setdefault((change.new_loc, change.old_loc, tuple(change.kept)), []).append(change)
    for same in groups.values():
        change = min(same, key=lambda c: (not c.key_path.startswith(("train", "val")), c.key_path))
        also = [c.key_path for c in same if c is not change]
        old, new = short_type(change.old_type), short_type(change.new_type)
        kept = list(change.kept)
        listed = ", ".join(f"{k}={change.kept_values.get(k, '?')} ({where(change.kept[k])})" for k in kept)
        shared = f" (the same dict as {', '.join(also)})" if also else ""
        head = (f"{change.key_path}{shared}: type changed from {old} ({where(change.old_loc)}) to {new} "
                f"({where(change.new_loc)}) without _delete_=True; {len(kept)} key(s) written for {old} stayed: "
                f"{listed}")
        evidence = {"old_type": old, "old_at": where(change.old_loc), "new_type": new,
                    "new_at": where(change.new_loc), "kept": {k: where(change.kept[k]) for k in kept}}
        fix = (f"add _delete_=True to the {change.key_path} dict at {where(change.new_loc)} and restate the keys "
               f"{new} needs")
        if constructors is None:
            yield Violation(
                message=head + f"; whether {new} accepts them is not checked under --no-exec",
                key_path=change.key_path, file=change.new_loc.file, line=change.new_loc.line or None,
                evidence=evidence, fix=fix, severity="info")
            continue
        node = ctx.config_value(change.key_path, None)
        sig = constructors.signature(change.new_type, change.key_path, node)
        if sig is None:
            continue  # the type does not resolve: the build reports that (DA002)
        rejected = [k for k in kept if sig.accepts(k) is False]
        if not rejected:
            continue
        via = f" ({sig.note})" if sig.note else (
            f" (with what {', '.join(sig.chain[1:])} take{'s' if len(sig.chain) == 2 else ''})"
            if len(sig.chain) > 1 else "")
        evidence.update(not_accepted=rejected, signature=sig.shown(), resolved_to=sig.qualname,
                        constructors=sig.chain)
        yield Violation(
            message=(head + f"; {new}'s constructor{via} does not accept "
                     f"{', '.join(rejected)}: building it raises TypeError"),
            key_path=change.key_path, file=change.new_loc.file, line=change.new_loc.line or None,
            evidence=evidence, fix=fix, autofix=_reset_fix(change.key_path, node, rejected, also))


def _reset_fix(key_path, node, rejected, also=()):
    """``_delete_=True`` on the dict, restating every merged key but the rejected ones: the merged
    dict loses exactly those."""
    if not hasattr(node, "items"):
        return None
    try:
        edit = reset_key(key_path, {k: v for k, v in node.items() if k not in rejected})
    except NotLiteral:
        return None
    return Autofix(SAFE, f"_delete_=True on {key_path}, keeping every key but {', '.join(rejected)}", [edit],
                   also=list(also))  # test_evaluator = val_evaluator: the same dict changes under both keys

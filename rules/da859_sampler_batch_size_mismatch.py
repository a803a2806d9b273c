from detaudit.rule import Violation, rule
from detaudit.rule.config import DATALOADERS, is_mapping, node_type
from detaudit.rule.merge import where

SAMPLERS = frozenset({"MultiSourceSampler", "GroupMultiSourceSampler"})


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def per_source(batch_size: int, ratio: list) -> list[int]:
    """How many samples of each source one group holds: mmdet's ``MultiSourceSampler`` formula
    (each later source ``int(batch_size * r / sum)``, the first source the rest)."""
    total = sum(ratio)
    counts = [int(batch_size * r / total) for r in ratio]
    counts[0] = batch_size - sum(counts[1:])
    return counts


@rule(code="DA859", name="sampler-batch-size-mismatch", severity="error", tier="static", needs=("source_map",))
def sampler_batch_size_mismatch(ctx):
    """A dataloader's batches do not line up with the groups its multi-source sampler draws.

    ## What it does
    For every dataloader whose ``sampler`` is a ``MultiSourceSampler`` or
    ``GroupMultiSourceSampler`` (the samplers of semi-supervised training), compares the
    dataloader's ``batch_size`` with the sampler's own ``batch_size``: reported when the first
    is not a whole multiple of the second. Also reported: a ``batch_sampler`` (such as the
    ``AspectRatioBatchSampler`` of the COCO base config) left on a loader with a
    ``MultiSourceSampler``, and a ``source_ratio`` that gives a source no sample in a group.

    ## Why is this bad?
    The sampler yields indices in groups of its ``batch_size``: first the samples of the first
    source (the labelled data), then those of the others, in the proportions of
    ``source_ratio`` (``[1, 4]`` with ``batch_size=5``: 1 labelled and 4 unlabelled images).
    The dataloader cuts that stream into batches of *its* ``batch_size`` without looking at the
    groups, so a different size makes batches straddle them: some hold no labelled image (the
    supervised branch gets nothing and the loss fails or is missing), others two. A batch sampler
    regroups the indices by aspect ratio and mixes the sources the same way (the groups of
    ``GroupMultiSourceSampler`` already share one orientation and pass through it whole). A ratio too small
    for the group size (``int(batch_size * r / sum(source_ratio))`` is 0) never draws that source.

    ## Example
    ```python
    train_dataloader = dict(batch_size=4,
                            sampler=dict(type='GroupMultiSourceSampler', batch_size=5, source_ratio=[1, 4]))
    ```

    ## Use instead
    ```python
    batch_size = 5
    train_dataloader = dict(batch_size=batch_size, batch_sampler=None,
                            sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size,
                                         source_ratio=[1, 4]))
    ```
    """
    for loader in DATALOADERS:
        dl = ctx.cfg.get(loader, None)
        sampler = dl.get("sampler", None) if is_mapping(dl) else None
        if not is_mapping(sampler) or node_type(sampler) not in SAMPLERS:
            continue
        kind, group, ratio = node_type(sampler), sampler.get("batch_size", None), sampler.get("source_ratio", None)
        if not _int(group):
            continue  # a missing or invalid size fails the sampler's own assert
        ratio_ok = (isinstance(ratio, (list, tuple)) and ratio
                    and all(isinstance(r, (int, float)) and not isinstance(r, bool) and r >= 0 for r in ratio)
                    and sum(ratio) > 0)
        counts = per_source(group, list(ratio)) if ratio_ok else None
        split = f" ({' + '.join(map(str, counts))} per group)" if counts else ""
        shown = f"source_ratio={list(ratio)}" if ratio_ok else "its source_ratio"
        batch = dl.get("batch_size", None)
        if _int(batch) and batch % group:
            yield Violation(
                message=(f"{loader}.batch_size={batch}, but its {kind} draws groups of batch_size={group} "
                         f"with {shown}{split} ({where(ctx.source_map.locate(f'{loader}.sampler.batch_size'))}): "
                         f"batches cut across the groups, so some hold no sample of the first (labelled) source "
                         f"and others two"),
                key_path=f"{loader}.batch_size",
                evidence={"batch_size": batch, "sampler": kind, "sampler_batch_size": group,
                          "source_ratio": list(ratio) if ratio_ok else None, "per_source": counts},
                fix=f"give {loader}.batch_size and {loader}.sampler.batch_size one value (a variable both read)")
        batch_sampler = dl.get("batch_sampler", None)
        if is_mapping(batch_sampler) and kind == "MultiSourceSampler":
            yield Violation(
                message=(f"{loader}.batch_sampler is {node_type(batch_sampler) or 'set'} while the sampler is "
                         f"{kind} with {shown}: the batch sampler regroups the sampler's indices (by aspect "
                         f"ratio) into its own batches, so they no longer hold each source in that ratio"),
                key_path=f"{loader}.batch_sampler",
                evidence={"batch_sampler": node_type(batch_sampler), "sampler": kind},
                fix=f"set {loader}.batch_sampler=None (the semi-supervised base configs do)")
        if counts and ratio_ok:
            empty = [i for i, (c, r) in enumerate(zip(counts, ratio)) if c <= 0 and r > 0]
            if empty:
                yield Violation(
                    message=(f"{loader}.sampler: {kind} with batch_size={group} and source_ratio={list(ratio)} "
                             f"draws {' + '.join(map(str, counts))} samples per group: "
                             + (f"sources {', '.join(map(str, empty))} never get" if len(empty) > 1 else
                                f"source {empty[0]} never gets") + " a sample"),
                    key_path=f"{loader}.sampler.source_ratio",
                    evidence={"sampler_batch_size": group, "source_ratio": list(ratio), "per_source": counts},
                    fix="raise the sampler's batch_size (with the loader's) until every source gets a sample")

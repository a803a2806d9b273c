from detaudit.rule import Violation, rule
from detaudit.rule.merge import where

from ._companions import (MARK, PACKERS, border_of, has_after, has_before, mosaic_border, training_chains,
                          zoo_table)

BORDER_CONTRACT = "RandomAffine(border<0) before Mosaic"
MOSAICS = ("Mosaic", "CachedMosaic")


def _shown(token: str) -> str:
    """How a message names a token: ``a MultiImageMixDataset wrapper``, ``RandomAffine with a negative border``."""
    if token.startswith(MARK):
        return f"a {token[len(MARK):]} wrapper"
    if token == PACKERS:
        return "PackDetInputs (or another Pack*Inputs)"
    if token.endswith("<0)"):
        kind, _, arg = token[:-3].partition("(")
        return f"{kind} with a negative {arg}"
    return token


def _lacks(chain, i, pair, also) -> bool:
    present = has_after if pair["where"] == "after" else has_before
    return not any(present(chain, i, t) for t in [pair["b"], *also])


def _fix(step, pair, chain, i) -> str:
    b, kind = pair["b"], step.kind
    if b.startswith(MARK):
        return (f"wrap the dataset in dict(type='{b[len(MARK):]}', dataset=..., pipeline=[...]) and move {kind} "
                "and the steps after it into the wrapper's pipeline (or remove it)")
    if b == PACKERS:
        packer = next((s for s in reversed(chain[:i]) if PACKERS in s.tokens), None)
        if packer is not None:
            return f"move {packer.path} ({packer.kind}) after {step.path} ({kind}), to the end of the pipeline"
        return "end the pipeline with dict(type='PackDetInputs'), after every other transform"
    if b == "RandomAffine(border<0)":
        border = mosaic_border(step.cfg)
        shown = f"border={border}" if border else "border=(-img_scale[0] // 2, -img_scale[1] // 2)"
        return f"add dict(type='RandomAffine', {shown}, ...) right after {kind}, or remove {kind}"
    if pair["where"] == "before" and b in MOSAICS:
        return f"remove {kind}'s border (the default (0, 0) keeps the image size), or put the Mosaic back before it"
    return f"add {_shown(b)} {pair['where']} {kind}"


def _pair_finding(ctx, chain, group, pair, contract, table):
    (i, step), others = group[0], group[1:]
    a, b = pair["a"], pair["b"]
    at = where(ctx.source_map.locate(step.path))
    support = (f"every one of the zoo's {pair['configs']} configs with {_shown(a)} ({pair['pipelines']} distinct "
               f"pipelines) has {_shown(b)} {pair['where']} it")
    if b == PACKERS:
        after = f"; so do {', '.join(f'{o.path} ({o.kind})' for _, o in others[:4])}" if others else ""
        packer = next((s for s in reversed(chain[:i]) if PACKERS in s.tokens), None)
        packed_at = f" {packer.path} ({packer.kind})" if packer is not None else ""
        lead = f"{step.path} ({step.kind}, {at}) comes after the pipeline's packing step{packed_at}{after}"
    elif b.startswith(MARK):
        lead = f"{step.path} ({step.kind}, {at}) is not in the pipeline of {_shown(b)}"
    elif contract == BORDER_CONTRACT:
        at = where(ctx.source_map.locate(f"{step.path}.border"))
        lead = (f"{step.path}.border ({at}) is {border_of(step.cfg)}, but {step.kind} has no {_shown(b)} "
                f"{pair['where']} it")
    else:
        lead = f"{step.path} ({step.kind}, {at}) has no {_shown(b)} {pair['where']} it"
    key = f"{step.path}.border" if contract == BORDER_CONTRACT else step.path
    return Violation(message=f"{lead}: {table['contracts'][contract]['why']}; {support}", key_path=key,
                     evidence={"transform": a, "companion": b, "where": pair["where"], "zoo_configs": pair["configs"],
                               "zoo_pipelines": pair["pipelines"]},
                     fix=_fix(step, pair, chain, i))


def _border_finding(ctx, chain, i, step, table):
    """A negative RandomAffine border that does not crop the Mosaic before it back to its img_scale."""
    facts = table.get("border", {})
    if not facts.get("configs") or facts.get("half_mosaic_scale") != facts.get("configs"):
        return None
    mosaic = next((s for s in reversed(chain[:i]) if s.kind in MOSAICS), None)
    want = mosaic_border(mosaic.cfg) if mosaic is not None else None
    got = border_of(step.cfg)
    if want is None or got is None or got == want:
        return None
    w, h = -2 * want[0], -2 * want[1]
    out = (2 * w + 2 * got[0], 2 * h + 2 * got[1])
    return Violation(
        message=(f"{step.path}.border ({where(ctx.source_map.locate(step.path + '.border'))}) is {got}, but the "
                 f"{mosaic.kind} before it ({mosaic.path}) has img_scale ({w}, {h}): its {2 * w}x{2 * h} canvas is "
                 f"cropped to {out[0]}x{out[1]}, not to {w}x{h} (in all {facts['configs']} zoo configs with a negative "
                 "border it is -img_scale // 2 of the Mosaic before it)"),
        key_path=f"{step.path}.border",
        evidence={"border": list(got), "mosaic": mosaic.path, "img_scale": [w, h], "expected": list(want),
                  "zoo_configs": facts["configs"]},
        fix=f"set {step.path}.border={want} (-img_scale // 2 of {mosaic.path})")


@rule(code="DA845", name="transform-without-companion", severity="warning", tier="static", needs=("source_map",))
def transform_without_companion(ctx):
    """A training transform lacks the partner it needs, or keeps one whose partner was removed.

    ## What it does
    Reads every training pipeline (the training set's, through its wrappers: a
    ``MultiImageMixDataset``'s pipeline runs after its inner dataset's; and each
    ``PipelineSwitchHook``'s ``switch_pipeline``) and reports, at the key of the step, a transform
    without the partner that every config of mmdet 3.3.0's zoo gives it. The pairs are learnt by
    ``scripts/zoo_pipeline_companions.py`` (``rules/zoo_pipeline_companions.json``): wherever the zoo
    has transform A, every occurrence has B before (or after) it, in at least 5 configs and 3 distinct
    pipelines, with no zoo config breaking it. Of the 227 such pairs only those whose violation
    breaks the transform, as mmdet's transform code shows, are checked:

    - ``Mosaic`` without a ``RandomAffine`` with a negative ``border`` after it (15 configs, 4
      pipelines), ``CachedMosaic`` without a ``RandomCrop`` after it (13 configs, 7 pipelines):
      both build a canvas of twice ``img_scale``; another resize or crop after them counts too;
    - a ``RandomAffine`` with a negative ``border`` without a ``Mosaic`` (or ``CachedMosaic``) before
      it (15 configs, 4 pipelines), reported at its ``border``; and a negative border that is not
      ``-img_scale // 2`` of the Mosaic before it (so in every zoo config);
    - ``Mosaic`` or ``MixUp`` outside the pipeline of a ``MultiImageMixDataset`` (15 and 13
      configs): they take their other images from ``mix_results``, which only that wrapper fills;
    - any transform the zoo always follows with ``PackDetInputs`` (or another ``Pack*Inputs``) that
      comes after the pipeline's packing step (22 transforms, ``Pad`` in 31 configs, ``RandomFlip``
      in 789): one finding per pipeline, at the first such step. A pipeline with no packing step
      at all is DA807's.

    The other pairs are habit, not contracts, and are not checked: ``Resize`` before ``RandomFlip``,
    ``MixUp`` after ``Mosaic`` (MixUp resizes the image it mixes in itself), ``CachedMixUp`` after
    ``CachedMosaic`` (it keeps its own cache), ``Expand`` before ``MinIoURandomCrop``,
    ``YOLOXHSVRandomAug`` after ``RandomAffine``, ``FilterAnnotations`` before ``Mosaic``, the
    loaders before everything (a missing loader fails on the first sample, and loaders of other
    names are common). ``CopyPaste`` (which also needs ``MultiImageMixDataset``) is in 3 zoo
    configs only, too few to learn from. The zoo gives ``RandomCrop(allow_negative_crop=True)`` and
    ``YOLOXHSVRandomAug`` no partner beyond habit; masks the model needs but ``LoadAnnotations`` does
    not load are DA807's.

    ## Why is this bad?
    Training goes on without an error and learns from other images than intended: ``Mosaic``
    without the ``RandomAffine`` that crops its canvas trains on mostly padded images twice the
    size in each dimension (four times the area of the test images); a ``RandomAffine`` border of
    ``(-320, -320)`` kept after ``Mosaic`` was removed crops 640 pixels off every single image,
    leaving a strip and cutting most boxes away. A ``MixUp`` outside ``MultiImageMixDataset`` and a
    transform after ``PackDetInputs`` fail on the first sample, after the model and the dataset
    were built.

    ## Example
    ```python
    _base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
    train_dataloader = dict(dataset=dict(_delete_=True, type='MultiImageMixDataset',
        dataset=dict(type='CocoDataset', ..., pipeline=[dict(type='LoadImageFromFile'),
                                                         dict(type='LoadAnnotations', with_bbox=True)]),
        pipeline=[dict(type='Mosaic', img_scale=(1333, 800)),
                  dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]))
    ```

    ## Use instead
    ```python
        pipeline=[dict(type='Mosaic', img_scale=(1333, 800)),
                  dict(type='RandomAffine', scaling_ratio_range=(0.1, 2), border=(-666, -400)),
                  dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]))
    ```

    ## References
    - mmdet 3.3 ``Mosaic``, ``RandomAffine`` (``border``: "Only used in mosaic dataset"), ``MixUp``,
      ``MultiImageMixDataset``, ``PackDetInputs``
    """
    table = zoo_table()
    by_token: dict = {}
    for pair in table.get("pairs", ()):
        by_token.setdefault(pair["a"], []).append(pair)
    reported: set = set()
    for _label, chain in training_chains(ctx.cfg):
        groups: dict = {}
        for i, step in enumerate(chain):
            if step.path is None:
                continue
            for token in step.tokens:
                for pair in by_token.get(token, ()):
                    contract = pair["contract"]
                    also = table["contracts"].get(contract, {}).get("also", [])
                    hits = groups.setdefault(contract, [])
                    if _lacks(chain, i, pair, also) and all(s is not step for _, s, _ in hits):
                        hits.append((i, step, pair))
            if "RandomAffine(border<0)" in step.tokens and (step.path, "border") not in reported:
                v = _border_finding(ctx, chain, i, step, table)
                if v is not None:
                    reported.add((step.path, "border"))
                    yield v
        packed = any(PACKERS in s.tokens for s in chain)
        for contract, hits in groups.items():
            if hits and hits[0][2]["b"] == PACKERS and not packed:
                continue  # a pipeline with no packing step at all is DA807's

            # a contract every transform has (a packing step after it): one finding per pipeline
            batches = ([hits] if hits else []) if contract.startswith("*") else [[h] for h in hits]
            for batch in batches:
                i, step, pair = batch[0]
                if (step.path, contract) in reported:
                    continue
                reported.add((step.path, contract))
                yield _pair_finding(ctx, chain, [(j, s) for j, s, _ in batch], pair, contract, table)

"""Learn from mmdet's zoo which training transforms always come with a partner, and write the
table DA845 reads (rules/zoo_pipeline_companions.json).

    python scripts/zoo_pipeline_companions.py [--limit N] [--out FILE] [--candidates] [--cache FILE]

Every zoo config (``mmdet/.mim/configs``, without ``_base_``) is loaded with mmengine's
``Config.fromfile`` (nothing is built; a config that fails to load is left out) and its training
chains are read with ``rules._companions.training_chains``: the training set's pipeline through its
wrappers (``MultiImageMixDataset``, ``RepeatDataset``, ``ConcatDataset``...), and the pipeline of
each ``PipelineSwitchHook`` stage. A step is described by its type and its flag and
negative-number tokens (``LoadAnnotations(with_mask=True)``, ``RandomAffine(border<0)``).

A candidate pair is "wherever the zoo has token A, every occurrence of A has token B before it"
(or after it): it must hold in every zoo config that has A (confidence 100%), with A in at least
``--min-configs`` configs and in at least ``--min-pipelines`` distinct chains (transforms and their settings), so
that one pipeline copied into many configs cannot make a pair. ``--candidates`` prints them all.

Most candidates are habit (``Resize`` then ``RandomFlip``) or plumbing every pipeline has. Only
the pairs listed in ``CONTRACTS`` below, each a dependency read in mmdet 3.3's transform code, are
written to the table, with their zoo support; a listed pair the zoo no longer supports is dropped
and named. The table also records how the zoo's negative ``RandomAffine`` borders relate to the
``Mosaic`` before them (always ``-img_scale // 2``).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

# (A, where B is, B) -> (what B does for A, other steps that do the same for A), read in mmdet 3.3's
# transforms. A is ``*`` for a contract every transform the zoo pairs with B has.
RESIZE_OR_CROP = ["RandomCrop", "RandomCenterCropPad", "Resize", "RandomResize", "RandomChoiceResize",
                  "FixShapeResize"]
CONTRACTS: dict[tuple[str, str, str], tuple[str, list]] = {
    ("Mosaic", "after", "RandomAffine(border<0)"): (
        "Mosaic builds a canvas of twice its img_scale in each dimension (four images around a random centre); "
        "RandomAffine's negative border (-img_scale // 2) crops it back to img_scale. Without it (or another "
        "resize or crop) training runs on the padded double-size canvas",
        RESIZE_OR_CROP),
    ("CachedMosaic", "after", "RandomCrop"): (
        "CachedMosaic builds a canvas of twice its img_scale in each dimension; the RandomCrop after it (to "
        "img_scale) brings the sample back to the training size. Without it (or another crop or resize) training "
        "runs on the padded double-size canvas",
        ["RandomAffine(border<0)", "RandomCenterCropPad", "Resize", "RandomResize", "RandomChoiceResize",
         "FixShapeResize"]),
    ("RandomAffine(border<0)", "before", "Mosaic"): (
        "a negative RandomAffine border shrinks the output by twice the border in each dimension; it is meant "
        "for a Mosaic canvas (twice img_scale), which it crops back to img_scale. On a single image it cuts "
        "away that many pixels, leaving a strip or nothing of each image and most of its boxes",
        ["CachedMosaic"]),
    ("Mosaic", "before", "@MultiImageMixDataset"): (
        "Mosaic takes its other three images from results['mix_results'], which only a MultiImageMixDataset "
        "wrapper around the dataset fills (Mosaic.transform asserts it)",
        []),
    ("MixUp", "before", "@MultiImageMixDataset"): (
        "MixUp takes the image it mixes in from results['mix_results'], which only a MultiImageMixDataset wrapper "
        "around the dataset fills (MixUp.transform asserts it)",
        []),
    ("*", "after", "Pack*Inputs"): (
        "PackDetInputs (or another Pack*Inputs) turns the results into the model's inputs and data samples and "
        "must come after every transform: a transform after it is handed the packed dict, without the image and "
        "annotations, and fails (KeyError) or changes nothing the model receives",
        []),
}


def _config_facts(cfg):
    """(chains as token lists, border facts) of one config."""
    from rules._companions import border_of, mosaic_border, training_chains

    chains, borders = [], []
    for _label, chain in training_chains(cfg):
        chains.append(([list(s.tokens) for s in chain], _content(chain)))
        for i, s in enumerate(chain):
            if "RandomAffine(border<0)" not in s.tokens:
                continue
            mosaic = next((m for m in reversed(chain[:i]) if m.kind in ("Mosaic", "CachedMosaic")), None)
            want = mosaic_border(mosaic.cfg) if mosaic is not None else None
            borders.append([border_of(s.cfg), want, mosaic.kind if mosaic is not None else None])
    return chains, borders


def _content(chain) -> str:
    """A chain's transforms with their settings (paths and file settings left out): two configs
    with the same content share one copied pipeline."""
    from mmengine.config import ConfigDict

    def plain(v):
        if isinstance(v, (dict, ConfigDict)):
            return {str(k): plain(x) for k, x in v.items() if k not in ("backend_args", "meta_keys")}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)

    return json.dumps([s.kind if s.path is None else plain(s.cfg) for s in chain], sort_keys=True)


def collect(limit: int, cache: str | None):
    if cache and Path(cache).exists():
        return pickle.loads(Path(cache).read_bytes())
    from zoo_value_ranges import loaded_zoo

    facts = []
    for _path, name, cfg in loaded_zoo(limit):
        chains, borders = _config_facts(cfg)
        facts.append((name, chains, borders))
    if cache:
        Path(cache).write_bytes(pickle.dumps(facts))
    return facts


def _around(chain, token):
    """(tokens before every occurrence of ``token``, tokens after every occurrence), or None."""
    before = after = None
    for i, step in enumerate(chain):
        if token not in step:
            continue
        b = {t for s in chain[:i] for t in s}
        a = {t for s in chain[i + 1:] for t in s}
        before = b if before is None else before & b
        after = a if after is None else after & a
    return None if before is None else (before, after)


def candidates(facts, min_configs: int, min_pipelines: int) -> dict:
    """(A, 'before'|'after', B) -> (configs, distinct chains) for every pair that no zoo config breaks."""
    kept: dict[str, list] = {}   # A -> [before set, after set, configs, distinct chain contents]
    for _name, chains, _b in facts:
        seen = {}
        for chain, content in chains:
            for token in {t for s in chain for t in s}:
                around = _around(chain, token)
                entry = seen.setdefault(token, [around[0], around[1], set()])
                entry[0] &= around[0]
                entry[1] &= around[1]
                entry[2].add(content)
        for token, (before, after, seqs) in seen.items():
            k = kept.setdefault(token, [set(before), set(after), 0, set()])
            k[0] &= before
            k[1] &= after
            k[2] += 1
            k[3] |= seqs
    out = {}
    for a, (before, after, n, seqs) in kept.items():
        if n < min_configs or len(seqs) < min_pipelines:
            continue
        for rel, bs in (("before", before), ("after", after)):
            for b in bs:
                if b.split("(")[0] != a.split("(")[0]:
                    out[(a, rel, b)] = (n, len(seqs))
    return out


def border_facts(facts) -> dict:
    total = matching = after_mosaic = 0
    seqs = set()
    for _name, chains, borders in facts:
        if not borders:
            continue
        total += 1
        after_mosaic += all(m is not None for _b, _w, m in borders)
        matching += all(w is not None and tuple(b or ()) == tuple(w) for b, w, _m in borders)
        seqs |= {content for _c, content in chains}
    return {"configs": total, "pipelines": len(seqs), "after_mosaic": after_mosaic, "half_mosaic_scale": matching}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", help="where to write the table (default: rules/zoo_pipeline_companions.json)")
    p.add_argument("--min-configs", type=int, default=5)
    p.add_argument("--min-pipelines", type=int, default=3)
    p.add_argument("--candidates", action="store_true", help="print every candidate pair, kept or not")
    p.add_argument("--cache", help="keep the zoo's chains in this file (a second run reads it)")
    args = p.parse_args(argv)
    from rules._companions import MARK, TABLE

    facts = collect(args.limit, args.cache)
    found = candidates(facts, args.min_configs, args.min_pipelines)
    if args.candidates:
        for (a, rel, b), (n, k) in sorted(found.items()):
            mark = "*" if (a, rel, b) in CONTRACTS or ("*", rel, b) in CONTRACTS and "(" not in a else " "
            print(f"{mark} {a:40s} {rel:6s} {b:40s} {n:4d} configs {k:3d} pipelines")
    pairs, missing, contracts = [], [], {}
    for (a, rel, b), (why, also) in CONTRACTS.items():
        matches = sorted(k for k in found if k[1:] == (rel, b)
                         and (k[0] == a or a == "*" and not k[0].startswith(MARK) and "(" not in k[0]))
        if not matches:
            missing.append(f"{a} {rel} {b}")
            continue
        name = f"{a} {rel} {b}"
        contracts[name] = {"why": why, "also": also}
        for key in matches:
            n, k = found[key]
            pairs.append({"a": key[0], "where": rel, "b": b, "contract": name, "configs": n, "pipelines": k})
    borders = border_facts(facts)
    source = (f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {len(facts)} loaded, {len(found)} "
              f"candidate pairs (at least {args.min_configs} configs, {args.min_pipelines} distinct pipelines, "
              f"no config breaking them), {len(pairs)} kept")
    out = Path(args.out) if args.out else TABLE
    tmp = out.with_suffix(".tmp")
    text = (f'{{\n "source": {json.dumps(source)},\n "contracts": {{\n  '
            + ",\n  ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in contracts.items())
            + '\n },\n "pairs": [\n  ' + ",\n  ".join(json.dumps(x) for x in pairs)
            + f'\n ],\n "border": {json.dumps(borders)}\n}}\n')
    json.loads(text)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"{len(facts)} configs: {len(found)} candidate pairs, {len(pairs)} kept -> {out}")
    for m in missing:
        print(f"dropped (the zoo does not support it): {m}", file=sys.stderr)
    print(f"negative RandomAffine borders: {borders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Learn, from every config of mmdet's zoo, what each pretrained source is fed and how mmdet names
whole-detector checkpoints, and write the table DA856 and DA857 read
(rules/zoo_pretrained_sources.json).

    python scripts/zoo_pretrained_sources.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built). For every backbone
whose ``init_cfg`` loads a checkpoint (``detaudit.rule.pretrained_inputs.pretrained_backbones``),
the checkpoint's source family (``source_key``: ``torchvision://|ResNet``,
``open-mmlab://msra/|HRNet``...) is recorded with the normalization of the data preprocessor
that feeds it (mean, std, channel flip) and the configs it was read from: ``normalizations``.

``detector_words`` are the algorithm names mmdet's checkpoints start with: the first part of each
zoo config's name (``mask-rcnn_r50_fpn_1x_coco`` -> ``mask_rcnn``) and, from the folders'
``metafile.yml``, of each released weight file's name (``auto_assign_r50_fpn_1x_coco_...pth`` ->
``auto_assign``, when it spells the config's word), leaving out words that name a backbone family or a dataset.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
EXAMPLES = 3
# a dataset's config (coco.py, voc0712.py) names no algorithm
DATASETS = r"(coco|voc|objects365|openimages|lvis|cityscapes|crowdhuman|mot\d)"


def _word(name: str) -> str:
    return name.split("_", 1)[0].replace("-", "_").lower()


def metafile_words(zoo_root: Path) -> dict[str, str]:
    """algorithm word of a released weight file -> the config it was released for."""
    import yaml

    from detaudit.rule.pretrained_inputs import release_stem

    words: dict[str, str] = {}
    for meta in sorted(zoo_root.glob("*/metafile.yml")):
        try:
            data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for model in data.get("Models", []) if isinstance(data, dict) else []:
            config = Path(str(model.get("Config", ""))).stem.lower()
            weights = str(model.get("Weights", "") or "")
            if not config or not weights.endswith(".pth"):
                continue
            stem, rest = release_stem(weights), config.split("_", 1)[-1].replace("-", "_").split("_")
            tokens = stem.split("_")
            # the weight name's algorithm part ends where the config's second part (its backbone) starts
            if rest and rest[0] in tokens[1:]:
                word = "_".join(tokens[:tokens.index(rest[0], 1)])
                if word.replace("_", "") == _word(config).replace("_", ""):  # a spelling of the config's
                    words.setdefault(word, config)
    return words


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", help="where to write the table (default: rules/zoo_pretrained_sources.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo, zoo_configs

    from detaudit.rule.checkpoint_family import checkpoint_family
    from detaudit.rule.pretrained_inputs import normalization, pretrained_backbones, same_normalization, source_key
    from rules._zoo_sources import TABLE

    table: dict[str, list[dict]] = {}
    words: dict[str, str] = {}
    loaded = 0
    for _path, name, cfg in loaded_zoo(args.limit):
        loaded += 1
        stem, model = Path(name).stem, cfg.get("model", None)
        if hasattr(model, "get") and (model.get("backbone", None) or model.get("detector", None)):
            if len(stem) < len(words.get(_word(stem), stem + "_")):  # the shortest name as the example
                words[_word(stem)] = stem  # a whole detector (not a dataset or schedule template)
        for _bb_path, _bb, checkpoint, _init, _key, pre in pretrained_backbones(cfg.get("model", None)):
            key = source_key(checkpoint)
            norm = normalization(pre[1]) if pre else None
            if key is None or norm is None:
                continue
            seen = table.setdefault(key, [])
            entry = next((e for e in seen if same_normalization(e, norm)), None)
            if entry is None:
                entry = dict(norm, configs=0, checkpoints=[], examples=[])
                seen.append(entry)
            entry["configs"] += 1
            if checkpoint not in entry["checkpoints"]:
                entry["checkpoints"].append(checkpoint)
            if len(entry["examples"]) < EXAMPLES:
                entry["examples"].append(name)
    configs = zoo_configs()
    if not args.limit and configs:
        for word, config in metafile_words(configs[0].parents[1]).items():
            words.setdefault(word, config)
    detector_words = {w: c for w, c in sorted(words.items())
                      if len(w) >= 3 and checkpoint_family(w) is None and not re.match(DATASETS, w)}
    out_table = {
        "source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
        "normalizations": {k: sorted(v, key=lambda e: -e["configs"]) for k, v in sorted(table.items())},
        "detector_words": detector_words,
    }
    out = Path(args.out) if args.out else TABLE
    tmp = out.with_suffix(".tmp")
    text = json.dumps(out_table, indent=1)
    text = re.sub(r"\[\s+([-\d.]+),\s+([-\d.]+),\s+([-\d.]+)\s+\]", r"[\1, \2, \3]", text)  # one line a triple
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"{loaded} configs: {sum(len(v) for v in table.values())} normalizations of {len(table)} pretrained "
          f"sources, {len(detector_words)} detector words -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read, from every config of mmdet's zoo, what each pretrained backbone checkpoint fixes of the
backbone that loads it, and write the table DA863 reads (rules/zoo_checkpoint_architectures.json).

    python scripts/zoo_checkpoint_architectures.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built). For ``model.backbone``
with ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (and no ``prefix``) the shaping arguments
(``rules._checkpoint_architectures.SHAPING``) are read as the constructor receives them. A checkpoint
keeps, for each backbone type that loads it, the arguments on which every zoo config agrees.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", help="where to write the table (default: rules/zoo_checkpoint_architectures.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from detaudit.facts.signatures import Constructors
    from rules._checkpoint_architectures import TABLE, pretrained_checkpoint, shaping_args

    constructors = Constructors()
    seen: dict[str, list[tuple[str, dict]]] = {}
    loaded = 0
    for _path, name, cfg in loaded_zoo(args.limit):
        loaded += 1
        model = cfg.get("model", None)
        backbone = model.get("backbone", None) if hasattr(model, "get") else None
        ckpt = pretrained_checkpoint(backbone)
        if ckpt is None:
            continue
        try:
            sig = constructors.signature(backbone.get("type"), "model.backbone", backbone)
        except Exception:  # noqa: BLE001 - a type that does not resolve gives its written arguments only
            sig = None
        seen.setdefault(ckpt, []).append((name, shaping_args(backbone, sig)))
    table: dict[str, dict] = {}
    for ckpt, uses in sorted(seen.items()):
        by_type: dict[str, list] = {}
        for name, shape in uses:  # torchvision's ResNet-50 also starts ResNetV1d, DetectoRS_ResNet...
            by_type.setdefault(str(shape["type"]), []).append((name, shape))
        for kind, group in sorted(by_type.items()):
            first = group[0][1]
            shape = {k: v for k, v in first.items() if k != "type" and all(a.get(k, "<absent>") == v for _, a in group)}
            table.setdefault(ckpt, {})[kind] = {"configs": len(group), "example": group[0][0], "shape": shape}
    out = Path(args.out) if args.out else TABLE
    out.write_text(json.dumps({"source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
                               "checkpoints": table}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(table)} checkpoints, {sum(map(len, table.values()))} backbone types, from {loaded} configs -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Count, over every config of mmdet's zoo, the ``pad_size_divisor`` of the data preprocessor in front
of each neck type, and write the table DA868 reads (rules/zoo_neck_pad_divisors.json).

    python scripts/zoo_neck_pad_divisors.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built); a preprocessor without
``pad_size_divisor`` counts as 1, mmdet's default.
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
    p.add_argument("--out", help="where to write the table (default: rules/zoo_neck_pad_divisors.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from rules.da868_padding_below_neck_multiple import TABLE, neck_types, pad_divisor

    necks: dict[str, dict[str, int]] = {}
    loaded = 0
    for _path, _name, cfg in loaded_zoo(args.limit):
        loaded += 1
        model = cfg.get("model", None)
        divisor = pad_divisor(model)
        for kind in neck_types(model):
            counts = necks.setdefault(kind, {})
            counts[str(divisor)] = counts.get(str(divisor), 0) + 1
    out = Path(args.out) if args.out else TABLE
    out.write_text(json.dumps({"source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
                               "necks": necks}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(necks)} neck types from {loaded} configs -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

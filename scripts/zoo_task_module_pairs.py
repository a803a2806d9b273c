"""Count, over every config of mmdet's zoo, which assigners and samplers each head type is given
by ``model.train_cfg`` and how they set its switches, and write the table DA864 reads (rules/zoo_task_module_pairs.json).

    python scripts/zoo_task_module_pairs.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built); the pairs are read
with ``rules._task_module_pairs.task_module_pairs``.
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
    p.add_argument("--out", help="where to write the table (default: rules/zoo_task_module_pairs.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from rules._task_module_pairs import TABLE, flag_key, flags, pair_key, task_module_pairs

    pairs: dict[str, dict[str, int]] = {}
    switches: dict[str, dict[str, int]] = {}
    loaded = 0
    for _path, _name, cfg in loaded_zoo(args.limit):
        loaded += 1
        model = cfg.get("model", None)
        for key, module, role, head, _head_path in task_module_pairs(model):
            counts = pairs.setdefault(pair_key(head, role), {})
            counts[module] = counts.get(module, 0) + 1
            node = model
            for part in key.split(".")[1:]:
                node = node[int(part)] if part.isdigit() else node[part]
            for flag, value in flags(node).items():
                seen = switches.setdefault(flag_key(head, role, module, flag), {})
                seen[str(value).lower()] = seen.get(str(value).lower(), 0) + 1
    out = Path(args.out) if args.out else TABLE
    out.write_text(json.dumps({"source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
                               "pairs": pairs, "flags": switches}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(pairs)} head/role pairs from {loaded} configs -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

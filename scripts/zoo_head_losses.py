"""Count, over every config of mmdet's zoo, which loss types each head type is given at each of its
``loss_*`` keys, and write the table DA406 reads (detaudit/rule/zoo_head_losses.json).

    python scripts/zoo_head_losses.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built).
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
    p.add_argument("--out", help="where to write the table (default: detaudit/rule/zoo_head_losses.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from detaudit.rule.config import is_mapping, type_name, walk_dicts
    from detaudit.rule.explain_loss import TABLE, loss_key

    losses: dict[str, dict[str, int]] = {}
    loaded = 0
    for _path, _name, cfg in loaded_zoo(args.limit):
        loaded += 1
        for _where, d in walk_dicts(cfg.get("model", None), "model"):
            head = type_name(d.get("type", None))
            for key, value in d.items():
                if head and key.startswith("loss") and is_mapping(value) and type_name(value.get("type", None)):
                    counts = losses.setdefault(loss_key(head, key), {})
                    kind = type_name(value.get("type"))
                    counts[kind] = counts.get(kind, 0) + 1
    out = Path(args.out) if args.out else TABLE
    out.write_text(json.dumps({"source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
                               "losses": losses}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(losses)} head/loss keys from {loaded} configs -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

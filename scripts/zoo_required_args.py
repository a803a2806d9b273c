"""Read, from every config of mmdet's zoo, which component dicts always carry a ``type`` and which
constructor arguments without default the configs always write, and write the table DA843 reads
(rules/zoo_required_args.json).

    python scripts/zoo_required_args.py [--limit N] [--out FILE]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built) and its component
dicts are walked with ``rules._required_args.component_dicts`` (the dicts the registries build
with all their keys, as DA831 walks them). For each dict's place (its nearest typed ancestor's type
and the keys from there) the table counts how many zoo dicts sit there, and keeps the places where
every one has a ``type``. For each typed dict, the type is resolved in mmdet's registries and the
arguments without default of the constructor the registry calls are counted as given or left out:
an argument the zoo leaves out somewhere is one the building part injects (a sampler's ``dataset``,
a loop's ``runner``, a scheduler's ``optimizer``, a head's ``train_cfg``).
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--out", help="where to write the table (default: rules/zoo_required_args.json)")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from detaudit.facts.signatures import Constructors
    from rules._required_args import TABLE, component_dicts, place_key, qualname, required_args

    resolvers: dict[str, Constructors] = {}
    places: dict[str, list[int]] = {}          # place -> [typed, untyped]
    required: dict[str, dict[str, list[int]]] = {}  # class -> argument -> [given, left out]
    loaded = 0
    for _path, _name, cfg in loaded_zoo(args.limit):
        loaded += 1
        scope = cfg.get("default_scope", None) or "mmdet"
        constructors = resolvers.setdefault(scope, Constructors(scope))
        for path, d, place, _built in component_dicts(cfg):
            counts = places.setdefault(place_key(place), [0, 0])
            counts[0 if "type" in d else 1] += 1
            resolved = constructors.resolve(d.get("type", None), path) if "type" in d else None
            if resolved is None:
                continue
            needed = required_args(resolved[0])
            for arg in needed or ():
                required.setdefault(qualname(resolved[0]), {}).setdefault(arg, [0, 0])[0 if arg in d else 1] += 1
    table = {
        "source": f"mmdet zoo configs (mmdet/.mim/configs, without _base_): {loaded} loaded",
        "typed": {k: v[0] for k, v in sorted(places.items()) if v[1] == 0 and v[0] > 0},
        "required": {cls: dict(sorted(args_.items())) for cls, args_ in sorted(required.items())},
    }
    out = Path(args.out) if args.out else TABLE
    tmp = out.with_suffix(".tmp")
    text = re.sub(r"\[\s+(\d+),\s+(\d+)\s+\]", r"[\1, \2]", json.dumps(table, indent=1))  # counts on one line
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"{loaded} configs: {len(table['typed'])} places always typed, "
          f"{sum(len(v) for v in required.values())} required arguments of {len(required)} classes -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

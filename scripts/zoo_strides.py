"""Check on every config of mmdet's zoo the stride invariants DA846 ships (rules/_strides.py).

    python scripts/zoo_strides.py [--limit N] [-v]

Each config is loaded with mmengine's ``Config.fromfile`` (nothing is built). For each detector
in it the script counts the declared stride lists (prior generators, point heads' ``strides``, RoI
extractors' ``featmap_strides``) each invariant applies to, and prints every breach: DA846 stays
quiet on the zoo only when none is printed. The exit status is 1 when an invariant fails on a zoo
config.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true", help="name each config's declared strides")
    args = p.parse_args(argv)
    from zoo_value_ranges import loaded_zoo

    from rules._strides import breaches, declared, first_stride, pyramid, roots

    applied: Counter = Counter()
    configs = failed = 0
    for _, name, cfg in loaded_zoo(args.limit):
        configs += 1
        model = cfg.get("model", None)
        for key, root in roots(model):
            lists = declared(root, key)
            applied["stride lists"] += len(lists)
            if pyramid(root, key) is not None:
                applied["pyramid-doubling (lists under a pyramid neck)"] += sum(len(d.values) > 1 for d in lists)
            if first_stride(root, key) is not None:
                applied["pyramid-first-stride (lists whose first stride is known)"] += len(lists)
            if any(d.role == "rpn" for d in lists) and any(d.role == "roi" for d in lists):
                applied["rpn-vs-roi (detectors with an RPN and RoI extractors)"] += 1
            if args.verbose:
                print(name, [(d.key, d.values) for d in lists])
        for key, message, _ in breaches(model):
            failed += 1
            print(f"BREACH {name}: {message}")
    print(f"{configs} zoo configs loaded; breaches: {failed}")
    for what, n in sorted(applied.items()):
        print(f"  {what}: {n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

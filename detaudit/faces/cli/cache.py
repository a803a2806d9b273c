"""``detaudit cache clean|dir``: the result cache (unchanged configs are answered from it)."""
from __future__ import annotations

import sys

from .common import EXIT_OK, Parser


def cmd_cache(argv: list[str], cache_dir) -> int:
    p = Parser(prog="detaudit cache", description="Manage the result cache (unchanged configs are answered "
                                                 "from it; --no-cache bypasses it).")
    p.add_argument("action", choices=("clean", "dir"), help="clean: remove every stored result; dir: print where "
                                                            "results are stored")
    args = p.parse_args(argv)
    if args.action == "dir":
        print(cache_dir)
        return EXIT_OK
    from ...report.cache import ResultCache

    count = ResultCache(cache_dir).clean()
    print(f"detaudit: removed {count} cached result(s) from {cache_dir}", file=sys.stderr)
    return EXIT_OK

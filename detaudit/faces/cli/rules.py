"""``detaudit rule CODE|NAME`` explains one rule; ``detaudit rules`` lists them."""
from __future__ import annotations

from .common import EXIT_OK, Parser, UsageError


def cmd_rule(argv: list[str]) -> int:
    import json

    from ...registry import find_rule

    p = Parser(prog="detaudit rule", description="Explain one rule.")
    p.add_argument("code", metavar="CODE|NAME")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    r = find_rule(args.code)
    if r is None:
        raise UsageError(f"no rule {args.code!r} (see 'detaudit rules')")
    if args.format == "json":
        print(json.dumps(dict(r.to_dict(), doc=r.doc), indent=2))
    else:
        print(f"{r.code} {r.name} [{r.severity}, tier {r.tier}, from {r.origin}]\n\n{r.doc}")
    return EXIT_OK


def cmd_rules(argv: list[str]) -> int:
    import json

    from tabulate import tabulate

    from ...registry import all_rules

    p = Parser(prog="detaudit rules", description="List every rule.")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    rules = all_rules().values()
    if args.format == "json":
        print(json.dumps([r.to_dict() for r in rules], indent=2))
    else:
        print(tabulate([[r.code, r.name, r.severity, r.tier, r.origin, r.summary] for r in rules],
                       headers=["code", "name", "severity", "tier", "origin", "summary"], tablefmt="simple"))
    return EXIT_OK

"""``detaudit migrate PATH... (--out DIR | --in-place | --diff)``: MMDetection 2.x configs to 3.x.

Exit codes: 0 every file converted (or left as it is, being 3.x already), 1 something was left
for the user (a note per key, also as a comment in the written file, or a file that could not
be converted), 2 misuse (no such path, no mode, a base outside the tree, a file that does not
parse, a read-only target): then nothing is written.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .common import EXIT_ERROR, EXIT_OK, Parser

EXIT_NOTES = 1


def _parser():
    p = Parser(prog="detaudit migrate",
               description="Convert MMDetection 2.x configs (bases included, inheritance kept) to 3.x.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="config files or folders")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", help="write the converted tree to DIR (same layout)")
    mode.add_argument("--in-place", action="store_true", help="rewrite the files themselves")
    mode.add_argument("--diff", action="store_true", help="print a unified diff and write nothing")
    return p


def cmd_migrate(argv: list[str]) -> int:
    from ...migrate.tree import MigrateError, diffs, migrate, write_out

    args = _parser().parse_args(argv)
    try:
        migration = migrate(args.paths)
        if args.diff:
            sys.stdout.write(diffs(migration))
            written = []
        else:
            written = write_out(migration, Path(args.out).resolve() if args.out else None, args.in_place)
    except MigrateError as exc:
        print(f"detaudit migrate: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    left = False
    for path, r in migration.files.items():
        shown = _shown(path)
        if r.status != "converted":
            print(f"{shown}: {r.message}", file=sys.stderr)
            left = left or r.status == "failed"
        for key, message in r.notes:
            print(f"{shown}: {key}: {message}", file=sys.stderr)
            left = True
    converted = sum(r.status == "converted" for r in migration.files.values())
    where = "" if args.diff else (f" into {args.out}" if args.out else " in place")
    print(f"detaudit migrate: {converted} of {len(migration.files)} file(s) converted{where}"
          f"{'' if args.diff else f', {len(written)} written'}", file=sys.stderr)
    return EXIT_NOTES if left else EXIT_OK


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

"""``detaudit show CONFIG [KEY ...]``: where each value of a config comes from."""
from __future__ import annotations

import sys
from pathlib import Path

from ...atomic import write_atomic
from .common import EXIT_FINDINGS, EXIT_OK, Parser, UsageError, parse_cfg_options


def cmd_show(argv: list[str]) -> int:
    from ..show import render_json, render_text, show

    p = Parser(prog="detaudit show",
                description="Show the value of config keys and the file:line of every assignment that produced it "
                            "(base files, the child, --cfg-options), discarded values included. Builds no model.")
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("keys", nargs="*", metavar="KEY", help="dotted key paths (default: every key)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH instead of stdout")
    p.add_argument("--no-exec", action="store_true", help="read the config without executing any of its code")
    p.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override config keys, as mmengine tools do (put it last)")
    args = p.parse_args(argv)
    path = Path(args.config)
    if not path.is_file():
        raise UsageError(f"config not found: {args.config}")
    result = show(str(path), args.keys, cfg_options=parse_cfg_options(args.cfg_options), no_exec=args.no_exec)
    text = (render_json if args.format == "json" else render_text)(result, args.keys)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if result.missing or result.load_error else EXIT_OK

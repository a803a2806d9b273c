"""``detaudit dashboard REPORT.json... [--baseline FILE] -o DIR``: one static site from many
reports. A file that cannot be read gets a one-line message (stderr and on the page); the
others are still rendered. Exit 0 when every file was read, 1 when some were not, 2 when none was."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import EXIT_ERROR, EXIT_OK, Parser, UsageError

EXIT_SOME_UNREADABLE = 1


def _parser() -> Parser:
    p = Parser(prog="detaudit dashboard",
               description="Combine detaudit JSON reports (several CI runs, shards, zoo sweeps) into one static "
                           "site that opens from disk with no server and no network.")
    p.add_argument("reports", nargs="+", metavar="REPORT.json",
                   help="reports from --format json or the zoo sweep; a later report's audit of a config "
                        "replaces an earlier one")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write the site into")
    p.add_argument("--baseline", metavar="FILE",
                   help="an earlier report or a --write-baseline file: show new, fixed and unchanged findings")
    p.add_argument("--title", default="detaudit dashboard", help="the page title")
    p.add_argument("--sheets", metavar="DIR",
                   help="a folder of contact sheets written by 'detaudit data CONFIG --out DIR' "
                        "(<config>_<split>.png): each is shown on its config's page")
    return p


def cmd_dashboard(argv: list[str]) -> int:
    from ...dashboard.data import combine
    from ...dashboard.model import ReportError, baseline_fingerprints, load
    from ...dashboard.site import write_site

    args = _parser().parse_args(argv)
    loaded, errors = [], []
    for path in args.reports:
        try:
            loaded.append(load(path, index=len(loaded)))
        except ReportError as exc:
            errors.append(str(exc))
            print(f"detaudit: dashboard: {exc}", file=sys.stderr)
    baseline = None
    if args.baseline:
        try:
            fps, kind = baseline_fingerprints(args.baseline)
        except ReportError as exc:
            raise UsageError(f"--baseline {exc}")
        baseline = (fps, kind, args.baseline)
    if not loaded:
        print("detaudit: dashboard: no report could be read; nothing written", file=sys.stderr)
        return EXIT_ERROR
    versions: dict[str, list[str]] = {}
    for item in loaded:
        versions.setdefault(item.source.tool_version or "?", []).append(item.source.path)
    if len(versions) > 1:
        print("detaudit: dashboard: note: the reports come from different detaudit versions ("
              + "; ".join(f"{v}: {', '.join(paths)}" for v, paths in sorted(versions.items()))
              + "): their rules and messages may differ", file=sys.stderr)
    data = combine(loaded, errors=errors, baseline=baseline)
    data["title"] = args.title
    if args.sheets:
        from ...dashboard.data import attach_sheets

        if not Path(args.sheets).is_dir():
            raise UsageError(f"--sheets {args.sheets}: not a folder")
        found = attach_sheets(data, args.sheets)
        print(f"detaudit: dashboard: {found} contact sheet(s) from {args.sheets}", file=sys.stderr)
    files = write_site(data, args.output)
    size = sum(f.stat().st_size for f in files)
    later = f"; {data['replaced']} audit(s) replaced by a later report's" if data["replaced"] else ""
    print(f"detaudit: dashboard of {len(data['configs'])} config(s) from {len(loaded)} report(s) written to "
          f"{args.output}/index.html ({len(files)} files, {size / 1e6:.1f} MB{later})", file=sys.stderr)
    return EXIT_SOME_UNREADABLE if errors else EXIT_OK

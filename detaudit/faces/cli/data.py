"""``detaudit data CONFIG``: the whole-annotation checks of a config's datasets, their statistics,
and a contact sheet per split of what the model will see. Exit codes: 0 no finding of severity
error, 1 some, 2 misuse or a config that does not load."""
from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from .common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, Parser, UsageError, parse_cfg_options

SPLIT_CHOICES = ("train", "val", "test")


def _parser() -> Parser:
    p = Parser(prog="detaudit data",
               description="Check the annotations of a config's datasets (all of them, not a sample) against the "
                           "config, and draw a contact sheet of what the pipeline feeds the model.")
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--split", action="append", choices=SPLIT_CHOICES, default=[],
                   help="the split(s) to check (repeat; default all three)")
    p.add_argument("--out", metavar="DIR", help="folder for the contact sheets (default: a new temporary folder, "
                                                "printed); never a folder inside the data")
    p.add_argument("--samples", type=int, default=8, metavar="N", help="samples per contact sheet (default 8)")
    p.add_argument("--no-sheet", action="store_true", help="checks and statistics only, no contact sheet")
    p.add_argument("--images", type=int, default=200, metavar="N",
                   help="image files to check per split, sampled (default 200; 0: none)")
    p.add_argument("--decode", action="store_true", help="decode the sampled image files, not only their headers")
    p.add_argument("--cfg-options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override config keys, as mmengine tools do")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


def _load(config: str, cfg_options: dict):
    from ...errors import FactUnavailable
    from ...facts.context import AuditContext
    from ...facts.sandbox import quiet

    path = Path(config)
    if not path.is_file():
        raise UsageError(f"{config}: no such config file")
    ctx = AuditContext(str(path), cfg_options=cfg_options, tier="static", tune_allocator=False)
    try:
        with quiet():
            return ctx.cfg
    except FactUnavailable as exc:
        raise UsageError(f"{config}: {exc.reason}")


def _inside_data(out: Path, report) -> str | None:
    """The data folder ``out`` lies in (data_root, an image or annotation folder), if any."""
    out = out.resolve()
    for r in report.splits:
        cfg = r.ds_cfg or {}
        root = cfg.get("data_root")
        folders = [Path(root)] if isinstance(root, str) and root else []
        root = folders[0] if folders else Path.cwd()   # relative prefixes without data_root: the launch folder
        prefix = cfg.get("data_prefix")
        for value in (prefix.values() if hasattr(prefix, "values") else [prefix]):
            if isinstance(value, str) and value and "://" not in value:
                folders.append(Path(value) if Path(value).is_absolute() else root / value)
        if r.data is not None and r.data.ann_file:
            folders.append(Path(r.data.ann_file).parent)
        for folder in folders:
            try:
                out.relative_to(folder.resolve())
                return str(folder)
            except ValueError:
                pass
    return None


def _severity(code: str) -> str:
    from ...registry import all_rules

    rule = all_rules().get(code)
    return rule.severity if rule is not None else "warning"


def cmd_data(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.samples < 1:
        raise UsageError("--samples must be at least 1")
    cfg = _load(args.config, parse_cfg_options(args.cfg_options))
    from ...facts.sandbox import quiet
    from ...facts.data_checks.audit import check_config

    splits = tuple(args.split) or SPLIT_CHOICES
    with quiet():
        report = check_config(cfg, Path.cwd(), splits, image_sample=max(0, args.images), decode=args.decode)
    sheets: dict[str, object] = {}
    out_dir = None
    readable = [r for r in report.splits if r.data is not None]
    if not args.no_sheet and readable:
        out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="detaudit-data-"))
        inside = _inside_data(out_dir, report)
        if inside:
            raise UsageError(f"--out {out_dir} lies inside the data ({inside}): nothing is written next to the data")
        stem = Path(args.config).stem
        for r in readable:
            if r.split not in sheets:  # one sheet per split, from its dataloader's dataset
                sheets[r.split] = _sheet(r, cfg, out_dir / f"{stem}_{r.split}.png", args, stem)
    if args.format == "json":
        print(json.dumps(_as_json(report, sheets), indent=2, default=str))
    else:
        _print_text(report, sheets, out_dir)
    errors = [f for f in report.findings if _severity(f.code) == "error"]
    return EXIT_FINDINGS if errors else EXIT_OK


def _steps(ds_cfg) -> list[str]:
    types = [s.get("type") if hasattr(s, "get") else type(s).__name__ for s in (ds_cfg or {}).get("pipeline") or []]
    return [t.__name__ if isinstance(t, type) else str(t).rpartition(".")[2] for t in types]


def _sheet(r, cfg, path: Path, args, stem: str):
    """The split's sheet, drawn from the dataloader's dataset as training builds it (a wrapper such as
    MultiImageMixDataset adds its own pipeline: Mosaic, MixUp); from the checked dataset alone when
    the wrapper does not build."""
    from ...facts.sandbox import quiet
    from ...facts.data_checks.sheet import Sheet, build_with_pipeline, draw_sheet

    top = (cfg.get(f"{r.split}_dataloader") or {}).get("dataset") if hasattr(cfg, "get") else None
    candidates = [top] if top is not None and r.key_path != f"{r.split}_dataloader.dataset" else []
    candidates.append(r.ds_cfg)
    error = None
    for ds_cfg in candidates:
        try:
            with quiet(), contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
                dataset = build_with_pipeline(ds_cfg)
                steps = " > ".join(_steps(r.ds_cfg))
                if ds_cfg is not r.ds_cfg:
                    steps += f" | {type(dataset).__name__}: " + (" > ".join(_steps(ds_cfg)) or "no pipeline")
                title = f"{stem} | {r.split}: {r.dataset_type}, {len(dataset)} samples | {steps}"
                start = time.perf_counter()
                sheet = draw_sheet(dataset, path, num=args.samples, stats=r.stats, title=title)
                sheet.seconds = time.perf_counter() - start
                return sheet
        except Exception as exc:  # noqa: BLE001 - the user's pipeline failing: said, the checks still stand
            error = error or f"{type(exc).__name__}: {str(exc).strip()[:300]}"
    return Sheet(path, 0, 0, error=error)


def _print_text(report, sheets: dict, out_dir) -> None:
    for r in report.splits:
        names = "/".join([r.split] + r.also)
        if r.skipped:
            print(f"{names} ({r.key_path}, {r.dataset_type}): not checked: {r.skipped}")
            continue
        if r.error:
            print(f"{names} ({r.key_path}, {r.dataset_type}): could not be read")
            continue
        d, s = r.data, r.stats.summary()
        kept = "" if d.kept_images is None or d.kept_images == d.num_images else f" ({d.kept_images} after filter_cfg)"
        print(f"{names} ({r.key_path}, {r.dataset_type}): {d.num_images} images{kept}, {d.num_boxes} annotations, "
              f"{s['boxes']} boxes train ({s['ignored']} ignored); read from {d.source} in {d.read_seconds:.2f} s")
        top = sorted(s["per_class"].items(), key=lambda kv: -kv[1])
        print("  boxes per class: " + ", ".join(f"{k}={v}" for k, v in top[:12]) + (" ..." if len(top) > 12 else ""))
        p = s["size_percentiles"]
        print(f"  boxes per image: mean {s['boxes_per_image_mean']}, max {s['boxes_per_image_max']}; "
              f"object size sqrt(wh) px: 1% {p[1]}, median {p[50]}, 99% {p[99]}")
        sheet = sheets.get(r.split)
        if sheet is not None and r is next(x for x in report.splits if x.split == r.split):
            print(f"  contact sheet: {sheet.path} ({sheet.seconds:.1f} s)" if not sheet.error
                  else f"  contact sheet: not drawn: {sheet.error}")
    for f in report.findings:
        print(f"{f.code} [{_severity(f.code)}] {f.key_path}: {f.message}")
        if f.fix:
            print(f"  fix: {f.fix}")
    n = len(report.findings)
    print(f"{n} finding(s) in {report.seconds:.2f} s" + (f"; contact sheets in {out_dir}" if out_dir else ""))


def _as_json(report, sheets: dict) -> dict:
    splits = []
    for r in report.splits:
        item = {"split": r.split, "also": r.also, "key_path": r.key_path, "dataset_type": r.dataset_type,
                "skipped": r.skipped, "error": r.error}
        if r.data is not None:
            item.update(source=r.data.source, ann_file=r.data.ann_file, images=r.data.num_images,
                        annotations=r.data.num_boxes, kept_images=r.data.kept_images,
                        seconds=round(r.data.read_seconds, 3), stats=r.stats.summary())
        sheet = sheets.get(r.split)
        if sheet is not None:
            item["sheet"] = {"path": str(sheet.path), "error": sheet.error, "width": sheet.width,
                             "height": sheet.height, "title": sheet.title,
                             "boxes_per_tile": [len(t.boxes) for t in sheet.tiles]}
        splits.append(item)
    return {"splits": splits, "seconds": round(report.seconds, 3),
            "findings": [{"code": f.code, "severity": _severity(f.code), "split": f.split, "key_path": f.key_path,
                          "message": f.message, "fix": f.fix, "evidence": f.evidence} for f in report.findings]}


def main(argv=None) -> int:
    try:
        return cmd_data(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(f"detaudit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR

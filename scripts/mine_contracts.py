"""Inventory of the cross-component contracts mmdet and mmengine state in their own source.

Walks the installed packages with ``ast`` (nothing is imported or run) and lists:

* ``assert`` — an ``assert`` in a constructor or builder (``__init__``, ``_init_layers``,
  ``init_*``, ``build_*``, ``_build_*``) whose test relates two or more arguments or
  ``self`` attributes (``assert len(strides) == num_levels``);
* ``raise`` — a ``raise ValueError/TypeError/AssertionError/NotImplementedError/KeyError``
  in such a function, under an ``if`` whose condition reads at least one argument or
  attribute;
* ``docstring`` — a sentence of a class or constructor docstring that says an argument
  "should/must ... when/if ..." or "only ... when/if".

Prints the inventory as markdown (counts per module and kind, then every entry with its
file:line) and, with ``--write``, writes it to ``docs/contracts.md``. The checks that
``rules/da815_component_contract_violated.py`` applies are the ones in
``detaudit/rule/contract_table.py``; each names the mmdet file:line it relies on.

    python scripts/mine_contracts.py [--write | --check] [--json FILE]
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
TREES = ("mmdet/models", "mmdet/datasets/transforms", "mmdet/models/task_modules", "mmengine")
BUILDER = re.compile(r"^(__init__|_init_layers|_init_[a-z_]+|init_[a-z_]+|build_[a-z_]+|_build_[a-z_]+)$")
ERRORS = {"ValueError", "TypeError", "AssertionError", "NotImplementedError", "KeyError"}
SENTENCE = re.compile(r"(?<=[.;])\s+(?=[A-Z`])")
CONTRACT_TEXT = re.compile(r"\b(should|must)\b[^.]*\b(when|if|unless)\b|\bonly\b[^.]*\b(when|if)\b|"
                           r"\b(when|if)\b[^.]*\b(should|must)\b", re.I)


def _files(site: Path):
    seen = set()
    for tree in TREES:
        for path in sorted((site / tree).rglob("*.py")):
            if path not in seen and "__pycache__" not in path.parts:
                seen.add(path)
                yield path


def _names(node: ast.AST, params: set[str]) -> set[str]:
    """The arguments and ``self`` attributes an expression reads."""
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in params:
            out.add(sub.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "self":
            out.add(f"self.{sub.attr}")
    return out


def _raised(node: ast.Raise) -> str | None:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    name = exc.id if isinstance(exc, ast.Name) else exc.attr if isinstance(exc, ast.Attribute) else None
    return name if name in ERRORS else None


def _walk_guarded(body, guards, visit):
    for stmt in body:
        visit(stmt, guards)
        if isinstance(stmt, ast.If):
            _walk_guarded(stmt.body, guards + [stmt.test], visit)
            _walk_guarded(stmt.orelse, guards + [stmt.test], visit)
        elif isinstance(stmt, (ast.For, ast.While, ast.With, ast.Try)):
            for part in ("body", "orelse", "finalbody"):
                _walk_guarded(getattr(stmt, part, []) or [], guards, visit)
            for handler in getattr(stmt, "handlers", []) or []:
                _walk_guarded(handler.body, guards, visit)


def _function_entries(rel: str, owner: str, fn: ast.FunctionDef, source: str):
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg != "self"}
    if fn.args.vararg:
        params.add(fn.args.vararg.arg)
    entries = []

    def visit(stmt, guards):
        if isinstance(stmt, ast.Assert):
            names = _names(stmt.test, params)
            if len(names) >= 2:
                entries.append(_entry(rel, owner, fn.name, stmt, "assert", source, sorted(names)))
        elif isinstance(stmt, ast.Raise) and _raised(stmt) and guards:
            names = set().union(*(_names(g, params) for g in guards))
            if names:
                entries.append(_entry(rel, owner, fn.name, stmt, "raise", source, sorted(names),
                                      guard=ast.get_source_segment(source, guards[-1])))

    _walk_guarded(fn.body, [], visit)
    return entries


def _entry(rel, owner, fn, node, kind, source, names, guard=None):
    text = (ast.get_source_segment(source, node) or "").strip()
    text = re.sub(r"\s+", " ", text)
    if guard:
        text = "if " + re.sub(r"\s+", " ", guard) + ": " + text
    return {"file": rel, "line": node.lineno, "owner": owner, "function": fn, "kind": kind,
            "names": names, "text": text[:220]}


def _docstring_entries(rel, owner, node):
    doc = ast.get_docstring(node, clean=True)
    if not doc:
        return []
    first = node.body[0]
    out = []
    for para in re.split(r"\n\s*\n", doc):
        flat = re.sub(r"\s+", " ", para).strip()
        for sentence in SENTENCE.split(flat):
            if CONTRACT_TEXT.search(sentence):
                offset = doc.find(sentence.split(" ")[0]) if sentence else 0
                line = first.lineno + doc[:max(offset, 0)].count("\n")
                out.append({"file": rel, "line": line, "owner": owner, "function": getattr(node, "name", ""),
                            "kind": "docstring", "names": [], "text": sentence[:220]})
    return out


def mine(site: Path = SITE) -> list[dict]:
    entries = []
    for path in _files(site):
        rel = str(path.relative_to(site))
        source = path.read_text(errors="replace")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes in the packages' own strings
                tree = ast.parse(source)
        except SyntaxError:
            continue
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            entries += _docstring_entries(rel, cls.name, cls)
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and BUILDER.match(fn.name):
                    entries += _function_entries(rel, cls.name, fn, source)
                    if fn.name == "__init__":
                        entries += _docstring_entries(rel, cls.name, fn)
        for fn in tree.body:  # module-level builders (build_*, ...)
            if isinstance(fn, ast.FunctionDef) and BUILDER.match(fn.name):
                entries += _function_entries(rel, "", fn, source)
    return entries


def module_of(rel: str) -> str:
    parts = rel.split("/")
    return "/".join(parts[:3]) if parts[0] == "mmdet" and len(parts) > 3 else "/".join(parts[:2])


def render(entries: list[dict]) -> str:
    kinds = ("assert", "raise", "docstring")
    counts = Counter((module_of(e["file"]), e["kind"]) for e in entries)
    modules = sorted({m for m, _ in counts})
    total = Counter(e["kind"] for e in entries)
    lines = ["# Contracts mmdet and mmengine state in their own source", "",
             "Generated by `scripts/mine_contracts.py --write` from the installed mmdet 3.3.0 and mmengine "
             "0.10.7 (read with `ast`, nothing imported); do not edit by hand.", "",
             "- **assert**: an `assert` in a constructor or builder relating two or more arguments or attributes",
             "- **raise**: a `raise ValueError/TypeError/AssertionError/NotImplementedError/KeyError` in a "
             "constructor or builder, under a condition over its arguments or attributes",
             "- **docstring**: a sentence of a class or constructor docstring saying an argument should/must "
             "... when/if ..., or only ... when", "",
             f"Total: **{len(entries)}** ({', '.join(f'{k} {total[k]}' for k in kinds)}). The ones detaudit "
             "checks on a config are the entries of `detaudit/rule/contract_table.py` (rule DA815 on the config, DA817 "
             "on the built model) and `detaudit/rule/conventions.py` (rule DA816); each names the file:line of mmdet "
             "it relies on.", "",
             "## Count per module and kind", "", "| module | assert | raise | docstring | total |", "|---|---|---|---|---|"]
    for m in modules:
        row = [counts[(m, k)] for k in kinds]
        lines.append(f"| `{m}` | {' | '.join(map(str, row))} | {sum(row)} |")
    lines += ["", "## Entries", ""]
    current = None
    for e in sorted(entries, key=lambda e: (e["file"], e["line"])):
        if e["file"] != current:
            current = e["file"]
            lines += ["", f"### `{current}`", ""]
        owner = ".".join(x for x in (e["owner"], e["function"]) if x)
        text = e["text"].replace("|", "\\|").replace("`", "'")
        lines.append(f"- {e['line']} {e['kind']} `{owner}`: {text}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=SITE, help="the site-packages folder holding mmdet and mmengine")
    ap.add_argument("--write", action="store_true", help="write docs/contracts.md")
    ap.add_argument("--json", type=Path, help="also write the entries as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/contracts.md is out of date")
    ns = ap.parse_args(argv)
    entries = mine(ns.site)
    text = render(entries)
    if ns.check:
        current = (ROOT / "docs" / "contracts.md").read_text() == text
        print("docs/contracts.md is " + ("current" if current else "out of date: run scripts/mine_contracts.py --write"))
        return 0 if current else 1
    if ns.write:
        (ROOT / "docs" / "contracts.md").write_text(text)
    if ns.json:
        ns.json.write_text(json.dumps(entries, indent=1))
    sys.stdout.write(text if not ns.write else text.split("## Entries")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

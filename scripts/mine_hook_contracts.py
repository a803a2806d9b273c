"""List what each installed mmengine / mmdet hook reads from the Runner, read from its source.

For every class of ``mmengine.hooks`` and ``mmdet.engine.hooks`` that derives from a hook, this
parses the module with :mod:`ast` (nothing is imported or run) and prints, per hook class:

- its constructor arguments and their defaults;
- per stage method (``before_train``, ``after_train_iter``...), the attribute chains it reads
  on the Runner's parts: ``runner.model``, ``runner.train_dataloader`` (``.dataset``...),
  ``runner.train_loop`` / ``val_loop`` / ``test_loop``, ``runner.optim_wrapper``,
  ``runner.visualizer``, ``runner.message_hub``, the ``metrics`` a stage is given, and any
  other ``runner.X``; a local bound to one of them (``model = runner.model``) is followed, so
  ``model.teacher`` counts as ``runner.model.teacher``;
- the ``assert`` statements and the ``hasattr`` tests of each stage (requirements the hook
  states), and which constructor arguments the stage reads (``self.interval``).

The output proposes contracts; ``detaudit/facts/hook_contracts.py`` keeps the ones that are
real requirements. Usage::

    python scripts/mine_hook_contracts.py            # a Markdown table
    python scripts/mine_hook_contracts.py --json     # the same as JSON
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from pathlib import Path

PACKAGES = ("mmengine.hooks", "mmdet.engine.hooks")
ROOTS = ("model", "train_dataloader", "val_dataloader", "test_dataloader", "train_loop", "val_loop", "test_loop",
         "optim_wrapper", "visualizer", "message_hub", "param_schedulers", "cfg")
HOOK_BASES = {"Hook", "LoggerHook", "CheckpointHook", "EMAHook"}


def package_files(package: str) -> list[Path]:
    """The modules of ``package``, found from its top-level package's folder (``find_spec`` of a
    subpackage would import its parents: mmdet.engine imports most of mmdet)."""
    top, *rest = package.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]).joinpath(*rest)
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ['a', 'b', 'c'], or None for anything else."""
    from detaudit.load.nodes import dotted_name

    name = dotted_name(node)
    return name.split(".") if name else None


class StageReader(ast.NodeVisitor):
    """The runner attributes, self attributes, asserts and hasattr tests of one method."""

    def __init__(self, runner_name: str | None, metrics_name: str | None):
        self.aliases: dict[str, list[str]] = {}
        if runner_name:
            self.aliases[runner_name] = ["runner"]
        if metrics_name:
            self.aliases[metrics_name] = ["metrics"]
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.self_reads: set[str] = set()
        self.asserts: list[str] = []
        self.hasattrs: list[str] = []

    def _resolve(self, node) -> list[str] | None:
        chain = _chain(node)
        if not chain or chain[0] not in self.aliases:
            return None
        return self.aliases[chain[0]] + chain[1:]

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        resolved = self._resolve(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name) and resolved and resolved[0] == "runner" and len(resolved) > 1:
                self.aliases[target.id] = resolved
            elif isinstance(target, ast.Attribute):
                written = self._resolve(target)
                if written:
                    self.writes.add(".".join(written))
                self.visit(target.value)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        resolved = self._resolve(node)
        if resolved and resolved[0] in ("runner", "metrics") and len(resolved) > 1:
            self.reads.add(".".join(resolved))
            return
        chain = _chain(node)
        if chain and chain[0] == "self" and len(chain) > 1:
            self.self_reads.add(chain[1])
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        resolved = self._resolve(node.value)
        if resolved and resolved[0] == "metrics" and isinstance(node.slice, ast.Attribute):
            self.reads.add("metrics[self." + node.slice.attr + "]")
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self.asserts.append(ast.unparse(node.test))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "hasattr" and len(node.args) == 2:
            target = self._resolve(node.args[0])
            name = node.args[1].value if isinstance(node.args[1], ast.Constant) else ast.unparse(node.args[1])
            self.hasattrs.append(f"{'.'.join(target) if target else ast.unparse(node.args[0])}.{name}")
        self.generic_visit(node)


def _arguments(fn: ast.FunctionDef) -> dict[str, str]:
    args = fn.args.args[1:]
    defaults = [None] * (len(args) - len(fn.args.defaults)) + list(fn.args.defaults)
    out = {a.arg: (ast.unparse(d) if d is not None else "required") for a, d in zip(args, defaults)}
    for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults):
        out[a.arg] = ast.unparse(d) if d is not None else "required"
    if fn.args.kwarg:
        out["**" + fn.args.kwarg.arg] = "passed on"
    return out


def read_hooks(path: Path, package: str) -> list[dict]:
    tree = ast.parse(path.read_text(), filename=str(path))
    hooks = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        bases = {ast.unparse(b).split(".")[-1] for b in cls.bases}
        if not (bases & HOOK_BASES or cls.name.endswith("Hook")) or cls.name == "Hook":
            continue
        entry = {"hook": cls.name, "module": f"{package}.{path.stem}", "bases": sorted(bases), "arguments": {},
                 "stages": {}}
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            if fn.name == "__init__":
                entry["arguments"] = _arguments(fn)
                reader = StageReader(None, None)
                reader.visit(fn)
                if reader.asserts:
                    entry["init_asserts"] = reader.asserts
                continue
            names = [a.arg for a in fn.args.args[1:]]
            runner = "runner" if "runner" in names else None
            metrics = "metrics" if "metrics" in names else None
            reader = StageReader(runner, metrics)
            reader.visit(fn)
            if not (reader.reads or reader.writes or reader.asserts or reader.hasattrs or reader.self_reads):
                continue
            entry["stages"][fn.name] = {
                "reads": sorted(reader.reads), "writes": sorted(reader.writes),
                "arguments_read": sorted(a for a in reader.self_reads if a in entry["arguments"]),
                "asserts": reader.asserts, "hasattr": reader.hasattrs}
        hooks.append(entry)
    return hooks


def mine() -> list[dict]:
    out = []
    for package in PACKAGES:
        for path in package_files(package):
            out += read_hooks(path, package)
    return out


def markdown(hooks: list[dict]) -> str:
    lines = ["| hook | arguments | stage | reads on the Runner | writes | asserts / hasattr |",
             "|---|---|---|---|---|---|"]
    for h in hooks:
        args = ", ".join(f"{k}={v}" for k, v in h["arguments"].items())
        stages = h["stages"] or {"(none)": {"reads": [], "writes": [], "asserts": [], "hasattr": []}}
        for i, (stage, s) in enumerate(stages.items()):
            tests = "; ".join(s["asserts"] + [f"hasattr {x}" for x in s["hasattr"]])
            lines.append(f"| {h['hook'] if i == 0 else ''} | {args if i == 0 else ''} | {stage} | "
                         f"{', '.join(s['reads'])} | {', '.join(s['writes'])} | {tests.replace('|', '/')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    ns = p.parse_args(argv)
    hooks = mine()
    if not hooks:
        print("no hook modules found: are mmengine and mmdet installed?", file=sys.stderr)
        return 1
    print(json.dumps(hooks, indent=1) if ns.json else markdown(hooks))
    return 0


if __name__ == "__main__":
    sys.exit(main())

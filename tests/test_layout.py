"""The engine's structure as tests: no import circles inside detaudit (function-local imports
included), rule packs that import only the rule API and dataset packs only the dataset-writer
API, files of a readable size, a fact interface the engine really implements, one driver that
alone runs and completes an audit, faces (entry points) above the stages and never imported by
them, and a context no other module writes into. Each checker is also run on a small package
made to break it, so that it is known to fail when it should."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


# ----------------------------------------------------------------------------- the checkers
def modules_of(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under a package folder."""
    base = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, is_package: bool) -> list[tuple[str, int]]:
    """(imported dotted name, line) for every import in the file, function-local ones included,
    type-checking-only ones excluded. ``from X import y`` yields ``X.y`` too (y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = name if is_package else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names if a.name != "*"]
    return out


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it makes Python execute: the imported module
    and the package ``__init__`` files on its way, except packages the importer sits in (they
    are being imported already)."""
    modules = modules_of(package_dir)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        for target, _ in imports_of(name, path, is_package):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                dotted = ".".join(parts[:i])
                if dotted in modules and dotted not in own and dotted != name:
                    graph[name].add(dotted)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def rule_api_violations(path: Path, pack: str) -> list[str]:
    """What a rule-pack module imports from detaudit beyond ``detaudit.rule``, and the
    ``getattr(ctx, "name")`` side channels it reads facts through."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = []
        for module in names:
            top = module.split(".")[0]
            if top == "detaudit" and not (module == "detaudit.rule" or module.startswith("detaudit.rule.")):
                bad.append(f"{path.name}:{node.lineno} imports {module}")
            if top == pack and module.split(".")[-1].startswith("da"):
                bad.append(f"{path.name}:{node.lineno} imports the sibling rule {module}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "ctx":
            bad.append(f"{path.name}:{node.lineno} reads ctx through getattr()")
    return bad


def pack_api_violations(path: Path, api: str, *, relative_ok: bool = False) -> list[str]:
    """What a dataset-pack module imports from detaudit beyond ``api`` (``detaudit.dataset``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if not relative_ok or node.level > 1:
                bad.append(f"{path.name}:{node.lineno} imports {'.' * node.level}{node.module or ''}")
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for module in names:
            if module.split(".")[0] == "detaudit" and not (module == api or module.startswith(api + ".")):
                bad.append(f"{path.name}:{node.lineno} imports {module}")
    return bad


def importers_of(graph: dict[str, set[str]], target: str) -> set[str]:
    """Modules importing ``target`` or anything below it."""
    return {m for m, deps in graph.items() if any(d == target or d.startswith(target + ".") for d in deps)}


def context_writes(path: Path) -> list[str]:
    """``ctx.<name> = ...`` (or ``+=``) in a module: writing into the audit's context from outside it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "ctx":
                bad.append(f"{path.name}:{node.lineno} sets ctx.{t.attr}")
    return bad


def rule_pack_files() -> list[tuple[Path, str]]:
    return [(p, "rules") for p in sorted((ROOT / "rules").glob("*.py"))] + \
           [(ROOT / "detector" / "audit_rules.py", "detector")]


# ----------------------------------------------------------------------------- the checks
def test_no_import_circles_inside_detaudit():
    cycles = find_cycles(import_graph(ROOT / "detaudit"))
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_rule_packs_import_only_the_rule_api():
    bad = [v for path, pack in rule_pack_files() for v in rule_api_violations(path, pack)]
    assert bad == []


def test_no_engine_file_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "detaudit").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_fact_of_the_interface_is_a_fact_of_the_engine_at_its_tier():
    from detaudit.facts.context import AuditContext
    from detaudit.rule import FACT_TIERS

    for name, tier in FACT_TIERS.items():
        member = getattr(AuditContext, name, None)
        assert isinstance(member, property), f"AuditContext has no fact {name}"
        if hasattr(member.fget, "tier"):
            assert member.fget.tier == tier, name


def test_every_rule_declares_only_known_facts_and_reads_only_what_it_declares(tmp_path):
    """The decorator refuses unknown facts; the engine refuses undeclared reads."""
    from detaudit.check import FactView, UndeclaredFact
    from detaudit.facts.context import AuditContext
    from detaudit.rule import Violation, rule

    with pytest.raises(ValueError, match="unknown fact"):
        rule(code="ZZ901", name="bad-need", severity="info", tier="static", needs=("modell",))

    @rule(code="ZZ902", name="reads-model", severity="info", tier="static")
    def reads_model(ctx):
        """Reads a fact it does not declare."""
        yield Violation(message=str(ctx.model))

    config = tmp_path / "c.py"
    config.write_text("model = dict(type='X')\n")
    view = FactView(AuditContext(str(config), tier="static"), reads_model)
    assert view.config_value("model.type") == "X"   # the config is always readable
    with pytest.raises(UndeclaredFact, match="ZZ902 reads fact 'model'"):
        list(reads_model.check(view))


# Where each kind of module lives: a newcomer reads the data flow from the folder names.
TOP_LEVEL = {"__init__", "__main__", "_version", "options", "driver", "settings", "errors", "findings", "atomic",
             "registry", "plan", "check",
             # public import paths kept as thin re-exports of the faces
             "cli", "hooks", "testing", "pytest_plugin"}
SHIMS = {"cli", "hooks", "testing", "pytest_plugin"}
STAGES = ("load", "facts", "report", "formats", "dashboard", "fix", "migrate", "workers", "dataset", "rule",
          "schema")


def test_the_top_level_holds_only_the_driver_its_options_and_shared_records():
    root = ROOT / "detaudit"
    modules = {p.stem for p in root.glob("*.py")}
    folders = {p.name for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules - TOP_LEVEL == set(), "loose modules at the top of detaudit/"
    assert folders == set(STAGES) | {"faces"}
    for name in SHIMS:  # a re-export, nothing of its own
        path = root / f"{name}.py"
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 10, path
        targets = [t for t, _ in imports_of(f"detaudit.{name}", path, False)]
        assert targets and all(t.startswith("detaudit.faces.") for t in targets), path


def test_no_stage_imports_a_face():
    graph = import_graph(ROOT / "detaudit")
    faces = importers_of(graph, "detaudit.faces")
    allowed = {"detaudit", "detaudit.__main__"} | {f"detaudit.{s}" for s in SHIMS}
    assert {m for m in faces if not m.startswith("detaudit.faces")} - allowed == set()


def test_one_driver_runs_and_completes_every_audit():
    """Only the driver runs the rules and completes findings; the driver does not depend on the
    many-configs package; the check stage builds no report objects."""
    graph = import_graph(ROOT / "detaudit")
    assert importers_of(graph, "detaudit.check") == {"detaudit.driver"}
    assert importers_of(graph, "detaudit.report.complete") - {"detaudit.driver"} <= \
        {m for m in graph if m.startswith("detaudit.faces")}  # faces apply the baseline through it
    for step in ("detaudit.report.suppress", "detaudit.report.supervision"):
        assert importers_of(graph, step) - {"detaudit.report.complete"} <= {"detaudit.workers.supervisor",
                                                                            "detaudit.workers.worker",
                                                                            "detaudit.workers.ray_executor"}, step
    assert not any(d.startswith("detaudit.workers") for d in graph["detaudit.driver"])
    assert not any(d.startswith(("detaudit.report", "detaudit.formats")) for d in graph["detaudit.check"])


def test_options_are_named_once():
    """One options object from the command line to the facts: no second options class, no renamed copies."""
    for path in (ROOT / "detaudit").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for old in ("RunOptions", "data_mode", "input_size_arg"):
            assert old not in text, f"{path.relative_to(ROOT)} uses {old}"


def test_no_module_writes_into_the_audit_context():
    bad = [v for path in (ROOT / "detaudit").rglob("*.py") for v in context_writes(path)]
    assert bad == []


def dataset_pack_files() -> list[tuple[Path, bool]]:
    """(module, whether it is detaudit's own writer package, which may import its siblings)."""
    return [(p, True) for p in sorted((ROOT / "detaudit" / "dataset").glob("*.py"))] + \
           [(ROOT / "detector" / "audit_data.py", False)]


def test_dataset_packs_import_only_the_dataset_api():
    bad = [v for path, own in dataset_pack_files() for v in pack_api_violations(path, "detaudit.dataset",
                                                                                relative_ok=own)]
    assert bad == []


# ----------------------------------------------------------------------------- the checkers can fail
def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_circle_check_finds_a_function_local_circle_and_ignores_type_checking(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import g\n",
        "pkg/b.py": "def g():\n    from . import c\n",
        "pkg/c.py": "def h():\n    from .a import x\n",        # a -> b -> c -> a, through a function
        "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .e import T\n",
        "pkg/e.py": "from .d import U\n",                          # d -> e only for type checking
    })
    assert find_cycles(import_graph(tmp_path / "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_the_circle_check_sees_a_package_init_on_the_way(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "from ..top import x\n",
        "pkg/sub/leaf.py": "",
        "pkg/top.py": "def f():\n    from .sub.leaf import y\n",   # runs pkg/sub/__init__, which imports top
    })
    assert find_cycles(import_graph(tmp_path / "pkg")) == [["pkg.sub", "pkg.top"]]


def test_the_rule_api_check_flags_an_engine_import_a_sibling_rule_and_getattr(tmp_path):
    path = tmp_path / "da999_bad.py"
    path.write_text("from detaudit.facts.context import AuditContext\n"
                    "from detaudit.rule import rule\n"
                    "from rules.da101_lr_mult_zero_freeze import freeze_fix\n"
                    "def check(ctx):\n    return getattr(ctx, 'eval_modules_at_build', ())\n")
    found = rule_api_violations(path, "rules")
    assert found == ["da999_bad.py:1 imports detaudit.facts.context",
                     "da999_bad.py:3 imports the sibling rule rules.da101_lr_mult_zero_freeze",
                     "da999_bad.py:5 reads ctx through getattr()"]


def test_the_dataset_api_check_flags_an_engine_import(tmp_path):
    path = tmp_path / "audit_data.py"
    path.write_text("from detaudit.dataset import DataRequest\n"
                    "from detaudit.facts.run.datasets import prepare\n"
                    "from ..facts.run import runner\n")
    assert pack_api_violations(path, "detaudit.dataset", relative_ok=True) == [
        "audit_data.py:2 imports detaudit.facts.run.datasets", "audit_data.py:3 imports ..facts.run"]


def test_the_context_check_flags_a_write(tmp_path):
    path = tmp_path / "fact.py"
    path.write_text("def f(ctx):\n    ctx.forward_size = (1, 2)\n    ctx.errors['x'] = 1\n    n = ctx.cfg\n")
    assert context_writes(path) == ["fact.py:2 sets ctx.forward_size"]


def test_the_face_check_sees_a_stage_importing_a_face(tmp_path):
    _write(tmp_path, {
        "detaudit/__init__.py": "",
        "detaudit/faces/__init__.py": "",
        "detaudit/faces/api.py": "from ..driver import audit\n",
        "detaudit/driver.py": "def audit():\n    from .faces.api import x\n",
    })
    graph = import_graph(tmp_path / "detaudit")
    assert importers_of(graph, "detaudit.faces") == {"detaudit.driver"}


def test_benchmarks_and_scripts_import_what_exists():
    """Benchmarks and scripts are run by hand, not by the suite: every ``from detaudit... import name``
    they hold must still resolve after the engine moves a module (an import inside a function
    fails only when that line runs)."""
    import ast
    import importlib

    missing = []
    for path in sorted([*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "scripts").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "detaudit":
                try:
                    module = importlib.import_module(node.module)
                except ImportError:
                    missing.append(f"{path.name}:{node.lineno} {node.module}")
                    continue
                missing += [f"{path.name}:{node.lineno} {node.module}.{a.name}" for a in node.names
                            if not hasattr(module, a.name) and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
    assert missing == []


def test_every_data_file_the_code_reads_is_installed_with_it():
    """A table a rule reads (rules/*.json, detaudit/rule/*.json, the schema, the dashboard's assets) is
    package data: an installed, non-editable detaudit (pre-commit's hook environment) must have it."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package in ("rules", "detaudit"):
        for path in (root / package).rglob("*"):
            if path.suffix not in (".json", ".js", ".css") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root / package).as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs.get(package, [])), \
                f"{package}/{relative} is not listed in [tool.setuptools.package-data]"

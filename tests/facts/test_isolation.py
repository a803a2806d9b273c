"""Each audit sees the registries and modules of a fresh process (issue 15, defect 1).

The leakage fixture (tests/fixtures/projects/leakage) has two project packages registering the
same class name, one with ``force=True``, and a config that forgot its ``custom_imports``. Audited
in one run, in any order, in this process or in reused workers, every config must get exactly the
findings it gets when audited alone.
"""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from detaudit.driver import audit as audit_one
from detaudit.settings import Settings
from detaudit.workers.supervisor import audit_many

ROOT = Path(__file__).resolve().parents[2]
LEAKAGE = ROOT / "tests" / "fixtures" / "projects" / "leakage"
OLD, NEW, DERIVED, FORGOT = (f"configs/{n}.py" for n in ("old_pkg", "new_pkg", "new_pkg_derived",
                                                          "new_pkg_forgot_import"))


@pytest.fixture
def in_project(monkeypatch):
    """Run from the project's root with it on sys.path, as ``PYTHONPATH=. detaudit ...`` does."""
    monkeypatch.chdir(LEAKAGE)
    monkeypatch.syspath_prepend(str(LEAKAGE))
    yield LEAKAGE


def signature(result) -> list[tuple]:
    return sorted((f.code, f.severity, f.message, f.location.file, f.location.line) for f in result.findings)


@pytest.fixture(scope="module")
def alone():
    """Each leakage config audited in a process of its own (the command line, in a subprocess)."""
    import json
    import subprocess

    out = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(LEAKAGE)]))
    for config in (OLD, NEW, DERIVED, FORGOT):
        proc = subprocess.run([sys.executable, "-m", "detaudit", config, "--tier", "build", "--format", "json"],
                              cwd=LEAKAGE, env=env, capture_output=True, text=True, timeout=600)
        (audit,) = json.loads(proc.stdout)["audits"]
        out[config] = sorted((f["code"], f["severity"], f["message"], f["location"]["file"], f["location"]["line"])
                             for f in audit["findings"])
    # what the fixture is about: the forgotten import is a build error, the others are clean
    assert [c for c, *_ in out[FORGOT] if c.startswith("DA00")] == ["DA002"]
    assert all(not any(s == "error" for _, s, *_ in out[c]) for c in (OLD, NEW, DERIVED))
    return out


@pytest.mark.parametrize("order", [(OLD, NEW), (NEW, OLD, DERIVED), (NEW, FORGOT), (OLD, NEW, DERIVED, FORGOT)])
def test_in_process_audits_in_a_row_match_each_alone(in_project, alone, order):
    settings = Settings(tier="build")
    for config in order:
        assert signature(audit_one(config, settings)) == alone[config], config
    assert "proj_old" not in sys.modules and "proj_new" not in sys.modules


def test_reused_workers_match_each_alone(in_project, alone):
    order = (OLD, NEW, DERIVED, FORGOT)
    settings = Settings(tier="build")
    for _ in range(2):  # which worker a config lands in must not matter
        results = list(audit_many([(c, settings) for c in order], jobs=2))
        assert [signature(r) for r in results] == [alone[c] for c in order]


def test_registries_come_back_as_they_were(tmp_path, monkeypatch):
    """A project module replacing mmdet's class (force=True), registering mmdet's class under an
    alias and adding its own registry as a child of mmdet's: all undone after the audit, and the
    project's modules are gone; mmdet's own classes and what mmcv registers stay."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from detaudit.facts.isolation import fresh_imports

    (tmp_path / "patchy_project.py").write_text(textwrap.dedent("""\
        from mmdet.models.dense_heads import RPNHead
        from mmdet.registry import MODELS
        from mmengine.registry import Registry

        @MODELS.register_module(name='RPNHead', force=True)
        class PatchedRPNHead(RPNHead):
            pass

        MODELS.register_module(name='RPNHeadAlias', module=RPNHead)
        PROJECT_MODELS = Registry('project model', parent=MODELS, scope='patchy_project')
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    register_all_modules(init_default_scope=False)
    before = {k: dict(v._module_dict) for k, v in [("mmdet", MODELS), *MODELS._children.items()]}
    rpn_head = MODELS.get("RPNHead")
    with fresh_imports() as state:
        import importlib

        module = importlib.import_module("patchy_project")
        assert MODELS.get("RPNHead") is module.PatchedRPNHead and "patchy_project" in MODELS._children
    assert MODELS.get("RPNHead") is rpn_head and "RPNHeadAlias" not in MODELS.module_dict
    assert "patchy_project" not in MODELS._children
    assert {k: dict(v._module_dict) for k, v in [("mmdet", MODELS), *MODELS._children.items()]} == before
    assert state.dropped == ["patchy_project"] and "patchy_project" not in sys.modules
    with fresh_imports():  # imported again: registers again, no "already registered"
        importlib.import_module("patchy_project")


def test_what_installed_packages_register_during_an_audit_stays():
    """mmcv registers torch's classes (Conv2d...) in mmengine's MODELS when mmcv.cnn is first
    imported: that module stays imported, so its registrations must stay too (in a fresh
    interpreter, where mmcv.cnn was never imported)."""
    import subprocess

    script = textwrap.dedent("""\
        import sys
        from detaudit.facts.isolation import fresh_imports
        from mmengine.registry import MODELS
        assert 'mmcv.cnn' not in sys.modules and 'Conv2d' not in MODELS.module_dict
        with fresh_imports() as state:
            import mmcv.cnn
        assert 'Conv2d' in MODELS.module_dict and 'mmcv.cnn' in sys.modules and not state.dropped
        print('ok')
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_an_import_that_worked_in_an_earlier_audit_is_imported_again(tmp_path, monkeypatch):
    """DA005 asks whether the config's custom_imports import: a module an earlier audit imported
    must be imported again, not taken from sys.modules."""
    (tmp_path / "needs_flag.py").write_text(textwrap.dedent("""\
        import os
        if not os.environ.get('ISSUE15_FLAG'):
            raise RuntimeError('ISSUE15_FLAG is not set')
        """))
    tiny = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
    imports = "custom_imports = dict(imports=['needs_flag'], allow_failed_imports=True)\n"
    (tmp_path / "sets_flag.py").write_text(f"_base_ = [{str(tiny)!r}]\nimport os\n"
                                           f"os.environ['ISSUE15_FLAG'] = '1'\n{imports}")
    (tmp_path / "no_flag.py").write_text(f"_base_ = [{str(tiny)!r}]\n{imports}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ISSUE15_FLAG", raising=False)
    settings = Settings(tier="static", select=["DA005"])
    assert not audit_one("sets_flag.py", settings).findings
    (finding,) = audit_one("no_flag.py", settings).findings
    assert finding.code == "DA005" and "ISSUE15_FLAG is not set" in finding.message


def test_what_counts_as_the_environment_is_read_without_listing_every_distribution(tmp_path, monkeypatch):
    """Installed code (site folders, editable installs' mappings, a checkout shadowing an installed
    package) is the environment's; a project's own modules are not."""
    import detaudit.errors as errors

    site = tmp_path / "site-packages"
    (site / "shadowed").mkdir(parents=True)
    (site / "compiled.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (site / "develop.pth").write_text(f"# a comment\nimport os\n{tmp_path / 'developed'}\n")
    (tmp_path / "developed").mkdir()
    finder = type(sys)("__editable___demo_0_1_finder")
    finder.MAPPING = {"demo_pkg": str(tmp_path / "editable" / "demo_pkg")}
    monkeypatch.setitem(sys.modules, finder.__name__, finder)
    monkeypatch.setattr("site.getsitepackages", lambda: [str(site)])
    for cached in (errors.environment, errors.installed_name, errors._entries):
        cached.cache_clear()
    try:
        assert errors.is_environment_code("demo_pkg.models", str(tmp_path / "editable" / "demo_pkg" / "models.py"))
        assert errors.is_environment_code("", str(tmp_path / "developed" / "tool.py"))
        assert errors.is_environment_code("shadowed.sub", str(tmp_path / "checkout" / "shadowed" / "sub.py"))
        assert errors.is_environment_code("compiled", str(tmp_path / "elsewhere" / "compiled.py"))
        assert errors.is_environment_code("json.decoder", None)
        assert not errors.is_environment_code("my_project.heads", str(tmp_path / "project" / "my_project" / "heads.py"))
        assert not errors.is_environment_code("", str(tmp_path / "project" / "train.py"))
    finally:
        for cached in (errors.environment, errors.installed_name, errors._entries):
            cached.cache_clear()

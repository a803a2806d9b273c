"""Functional tests of every registered rule: a docstring in the ruff layout, a fixture that
makes it fire and one that keeps it quiet (and where it really ran, not skipped).

Fixtures live in ``fixtures/<CODE>/fires*`` and ``quiet*``, of three kinds:

- a config (``fires.py``), audited as ``detaudit CONFIG`` audits it;
- for a rule of the ``training`` tier, a config that is trained for a few iterations in
  mmengine's Runner with DetAuditHook (``_base_/tiny_run.py``): the findings are the hook's;
- a work dir (a folder ``fires_x/``, laid out as mmengine writes one), audited as
  ``detaudit logs`` audits it. It is copied to a temporary folder first, where the files its
  ``# fixture-file: NAME={generated:X}`` lines name are put; its launch config is read from
  the fixture itself, so that ``_base_`` paths hold.

A fixture may carry ``# fixture-args: <options>`` (those of ``detaudit`` or ``detaudit logs``),
``# fixture-expect: <substring of a message>`` and ``# fixture-env: NAME=VALUE`` (the environment
training would run in); a work dir carries them in ``fixture.txt``.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from detaudit.registry import all_rules
from detaudit.rule.declare import DOC_SECTIONS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"
RULES = all_rules()


def _fixtures(kind: str):
    out = []
    for code in RULES:
        for path in sorted((FIXTURES / code).glob(f"{kind}*")):
            if path.suffix == ".py" or path.is_dir():
                out.append(pytest.param(code, path, id=f"{code}-{path.stem}"))
    return out


# a fixture's tier unless its fixture-args name one: fixtures of the run tier's rules say --tier run
FIXTURE_TIER = "train"


def _directives(path: Path, name: str) -> list[str]:
    prefix = f"# fixture-{name}:"
    if path.is_dir():
        path = path / "fixture.txt"
    return [line[len(prefix):].strip() for line in path.read_text(errors="replace").splitlines()
            if line.startswith(prefix)]


def _args(path: Path, request) -> list[str]:
    args = []
    for line in _directives(path, "args"):
        if "{generated:" in line:  # files written at test time (tests/tiny_checkpoints.py)
            line = request.getfixturevalue("generated_files").expand(line)
        args += shlex.split(line)
    return args


def audit_fixture(code: str, path: Path, monkeypatch, request=None):
    if path.is_dir():
        return audit_work_dir_fixture(code, path, monkeypatch, request)
    if RULES[code].tier == "training":
        return train_fixture(code, path, monkeypatch, request)
    from detaudit.faces.api import audit
    from detaudit.faces.cli.check import parser
    from detaudit.faces.cli.common import parse_cfg_options

    ns = parser().parse_args([str(path)] + _args(path, request))  # path first: --cfg-options takes several values
    for line in _directives(path, "env"):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name.strip(), value.strip())
    monkeypatch.chdir(path.parent)  # relative paths in fixtures resolve next to them
    monkeypatch.syspath_prepend(str(path.parent))  # fixture-local custom_imports, as with PYTHONPATH=.
    tier = ns.tier if "--tier" in _args(path, request) else FIXTURE_TIER
    report = audit(str(path), select=[code], expect_frozen=ns.expect_frozen, tier=tier,
                   cfg_options=parse_cfg_options(ns.cfg_options), input_size=ns.input_size or (64, 96),
                   no_exec=ns.no_exec, timeout=ns.timeout, max_memory=ns.max_memory,  # worker when limits given
                   data=ns.data)
    return report.audits[0]


def audit_work_dir_fixture(code: str, path: Path, monkeypatch, request):
    """``detaudit logs`` on a copy of the work dir, with its generated files put in."""
    import shutil

    from detaudit.driver import WorkDir, audit
    from detaudit.faces.cli.common import parse_cfg_options
    from detaudit.faces.cli.logs import parser as logs_parser
    from detaudit.options import AuditOptions

    work_dir = request.getfixturevalue("tmp_path") / path.name
    shutil.copytree(path, work_dir)
    for line in _directives(path, "file"):
        name, _, source = line.partition("=")
        generated = request.getfixturevalue("generated_files").expand(source.strip())
        shutil.copyfile(generated, work_dir / name.strip())
    configs = sorted(path.glob("*/vis_data/config.py"))
    ns = logs_parser().parse_args([str(work_dir)] + _args(path, request))
    monkeypatch.chdir(path)
    source = WorkDir(work_dir, config=ns.config or (configs[-1] if configs else None),
                     expect_losses=tuple(ns.expect_losses))
    return audit(source, AuditOptions(select=[code], expect_frozen=ns.expect_frozen,
                                      cfg_options=parse_cfg_options(ns.cfg_options)))


def train_fixture(code: str, path: Path, monkeypatch, request):
    """Train the config for its few iterations with DetAuditHook (only ``code`` selected); the
    hook's result."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    tmp = request.getfixturevalue("tmp_path")
    monkeypatch.chdir(tmp)
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp / "work_dir")
    cfg.experiment_name = f"{code}-{path.stem}-{tmp.name}"  # mmengine keys its logger and visualizer on it
    hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") == "DetAuditHook"]
    assert hooks, f"{path.name}: a training-tier fixture needs DetAuditHook in custom_hooks"
    hooks[0]["select"] = [code]
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner._hooks if type(h).__name__ == "DetAuditHook")
    return hook.combined()


@pytest.mark.parametrize("code", list(RULES))
def test_rule_is_documented_and_has_fixtures(code):
    r = RULES[code]
    sections = r.doc_sections()
    missing = [s for s in DOC_SECTIONS if not sections.get(s)]
    assert not missing, f"{code} doc lacks sections: {missing}"
    assert r.summary and not r.summary.startswith("##"), f"{code} doc needs a one-line summary first"
    assert list((FIXTURES / code).glob("fires*")), f"{code} has no firing fixture in {FIXTURES / code}"
    assert list((FIXTURES / code).glob("quiet*")), f"{code} has no quiet fixture in {FIXTURES / code}"


@pytest.mark.parametrize("code,path", _fixtures("fires"))
def test_fires(code, path, monkeypatch, request):
    result = audit_fixture(code, path, monkeypatch, request)
    hits = [f for f in result.findings if f.code == code]
    assert hits, f"{code} did not fire on {path.name}; skipped={result.skipped}"
    for expected in _directives(path, "expect"):
        assert any(expected in f.message for f in hits), f"no {code} message contains {expected!r}: " \
                                                          f"{[f.message for f in hits]}"


@pytest.mark.parametrize("code,path", _fixtures("quiet"))
def test_quiet(code, path, monkeypatch, request):
    result = audit_fixture(code, path, monkeypatch, request)
    assert code in result.ran, f"{code} did not run on {path.name}: {result.skipped}"
    hits = [f.message for f in result.findings if f.code == code]
    assert not hits, f"{code} fired on quiet fixture {path.name}: {hits}"


def test_a_failure_that_is_the_machines_skips_the_run_rule(monkeypatch, request):
    """An op without a CPU kernel stops the run on this machine only: DA710 is skipped with the
    reason, as the forward tier's rules are, and the audit reports no error."""
    result = audit_fixture("DA710", FIXTURES / "DA710" / "skipped_no_cpu_kernel.py", monkeypatch, request)
    assert not [f for f in result.findings if f.code == "DA710"]
    reasons = {s["code"]: s["reason"] for s in result.skipped}
    assert "no CPU kernel for fake_roi_forward_impl" in reasons.get("DA710", ""), result.skipped
    assert result.tiers["run"] == "failed"


def test_a_size_failure_repeats_the_run_larger(monkeypatch, request):
    """The quiet fixture is quiet because the run was repeated at larger images, and the report says so."""
    from detaudit.facts.run.private_config import LARGER_SIDES, LONG_SIDE

    result = audit_fixture("DA710", FIXTURES / "DA710" / "quiet_fails_small_runs_larger.py", monkeypatch, request)
    assert result.tiers["run"] == "ok"
    retries = [c for c in result.run["changes"] if c["key"] == "images"]
    assert [r["now"] for r in retries] == [f"long side {LARGER_SIDES[0]} px"], retries
    assert f"at {LONG_SIDE} px" in retries[0]["why"] and "selected index k out of range" in retries[0]["why"]


def test_a_model_changed_by_the_forward_tier_is_built_afresh_for_the_run(monkeypatch):
    """Training builds its optimizer before the model's first forward: so does the run, on a fresh build
    when the forward tier's loss pass changed the model, and again for the resume (a new process in
    training); the report lists both."""
    from detaudit.faces.api import audit

    path = FIXTURES / "DA700" / "quiet_model_changes_at_first_forward.py"
    monkeypatch.chdir(path.parent)
    monkeypatch.syspath_prepend(str(path.parent))
    result = audit(str(path), select=["DA700", "DA403"], tier="run", input_size=(64, 96)).audits[0]
    assert result.tiers["forward"] == "ok" and result.tiers["run"] == "ok", result.run["stages"]
    assert result.run["stages"].get("resume", "").startswith("ok"), result.run["stages"]
    assert [c["key"] for c in result.run["changes"] if c["now"] == "a fresh build"] == ["model", "resume.model"]


def test_a_run_whose_process_crashed_leaves_no_folder_behind(monkeypatch, request, tmp_path):
    """The run's process died with SIGSEGV in a hook: the audit reports it, and the run's temporary
    folder (its checkpoint, data, logs) is removed all the same, by the audit's own process."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = audit_fixture("DA700", FIXTURES / "DA700" / "fires_hook_crashes_process.py", monkeypatch, request)
    assert result.run["stages"]["run"].startswith("crashed (SIGSEGV)"), result.run["stages"]
    crash = [f for f in result.findings if f.code == "DA700"]
    assert crash and "after_train_iter" in crash[0].message
    assert not list(tmp_path.glob("detaudit-run-*"))


def test_a_run_failure_another_rule_ties_to_a_key_names_that_key(monkeypatch, request):
    """The Runner refuses a training loop without training data: DA700 names the key DA716 ties the
    message to (train_dataloader), so the finding points where the user edits."""
    result = audit_fixture("DA700", FIXTURES / "DA700" / "fires_training_without_loader.py", monkeypatch, request)
    (hit,) = [f for f in result.findings if f.code == "DA700"]
    assert hit.key_path == "train_dataloader", hit

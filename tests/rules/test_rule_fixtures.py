"""Functional tests of every registered rule: a docstring in the ruff layout, a fixture that
makes it fire and one that keeps it quiet (and where it really ran, not skipped).

Fixtures live in ``fixtures/<CODE>/fires*.py`` and ``quiet*.py``. A fixture may carry:
``# fixture-args: <detaudit options>``, ``# fixture-expect: <substring of a message>`` and
``# fixture-env: NAME=VALUE`` (the environment training would run in).
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
        for path in sorted((FIXTURES / code).glob(f"{kind}*.py")):
            out.append(pytest.param(code, path, id=f"{code}-{path.stem}"))
    return out


def _directives(path: Path, name: str) -> list[str]:
    prefix = f"# fixture-{name}:"
    return [line[len(prefix):].strip() for line in path.read_text(errors="replace").splitlines()
            if line.startswith(prefix)]


def audit_fixture(code: str, path: Path, monkeypatch, request=None):
    from detaudit.api import audit
    from detaudit.cli import _check_parser, parse_cfg_options

    args = []
    for line in _directives(path, "args"):
        if "{generated:" in line:  # files written at test time (tests/tiny_checkpoints.py)
            line = request.getfixturevalue("generated_files").expand(line)
        args += shlex.split(line)
    ns = _check_parser().parse_args([str(path)] + args)  # path first: --cfg-options takes several values
    for line in _directives(path, "env"):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name.strip(), value.strip())
    monkeypatch.chdir(path.parent)  # relative paths in fixtures resolve next to them
    monkeypatch.syspath_prepend(str(path.parent))  # fixture-local custom_imports, as with PYTHONPATH=.
    report = audit(str(path), select=[code], expect_frozen=ns.expect_frozen, tier=ns.tier,
                   cfg_options=parse_cfg_options(ns.cfg_options), input_size=ns.input_size or (64, 96),
                   no_exec=ns.no_exec, timeout=ns.timeout, max_memory=ns.max_memory,  # worker when limits given
                   data=ns.data)
    return report.audits[0]


@pytest.mark.parametrize("code", list(RULES))
def test_rule_is_documented_and_has_fixtures(code):
    r = RULES[code]
    sections = r.doc_sections()
    missing = [s for s in DOC_SECTIONS if not sections.get(s)]
    assert not missing, f"{code} doc lacks sections: {missing}"
    assert r.summary and not r.summary.startswith("##"), f"{code} doc needs a one-line summary first"
    assert list((FIXTURES / code).glob("fires*.py")), f"{code} has no firing fixture in {FIXTURES / code}"
    assert list((FIXTURES / code).glob("quiet*.py")), f"{code} has no quiet fixture in {FIXTURES / code}"


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

"""Inline ``# detaudit: ignore[...]`` comments and DA007 (unused-suppression)."""
from __future__ import annotations

from pathlib import Path

from detaudit.faces.api import audit
from detaudit.load.suppressions import parse_text

from integ_helpers import write


def test_parse_line_and_file_scopes():
    text = ('"""Docstring."""\n'
            "# detaudit: ignore[DA201]\n"      # after the first statement: a line suppression
            "x = 1  # detaudit: ignore[da102 , DA103]\n"
            "s = '# detaudit: ignore[DA001]'\n"  # inside a string: not a comment
            "y = 2  # detaudit: ignore\n")
    sups = parse_text(text, Path("c.py"))
    assert [(s.line, s.scope, s.codes, s.problem is None) for s in sups] == [
        (2, "line", ("DA201",), True), (3, "line", ("DA102", "DA103"), True), (5, "line", (), False)]
    top = parse_text("#!/usr/bin/env python\n# detaudit: ignore[DA202]\n\n_base_ = []\n", Path("c.py"))
    assert [(s.scope, s.codes) for s in top] == [("file", ("DA202",))]


def test_parse_survives_a_file_that_does_not_tokenize():
    sups = parse_text("# detaudit: ignore[DA001]\nmodel = dict(\n", Path("c.py"))
    assert [(s.scope, s.codes) for s in sups] == [("file", ("DA001",))]


def _codes(result):
    return sorted((f.code, f.location.line) for f in result.findings)


def test_line_suppression_and_unused_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write(tmp_path / "c.py", """\
        load_from = 'missing.pth'  # detaudit: ignore[DA201]
        work_dir = 'w'  # detaudit: ignore[DA201]
        resume = False  # detaudit: ignore[DA102]
        """)
    result = audit(str(cfg), select=["DA201", "DA007", "DA102"], tier="static").audits[0]
    # DA201 on line 1 suppressed; line 2's DA201 suppressed nothing; DA102 did not run (tier): not judged
    assert [f.code for f in result.suppressed] == ["DA201"]
    assert _codes(result) == [("DA007", 2)]
    (unused,) = result.findings
    assert unused.key_path == "work_dir" and "DA201 reported nothing on line 2" in unused.message
    assert unused.fix == "remove the comment"
    # without DA007 selected, no report of unused suppressions, and the suppression still works
    result = audit(str(cfg), select=["DA201"], tier="static").audits[0]
    assert result.findings == [] and len(result.suppressed) == 1


def test_file_level_suppression_covers_the_audit_and_bases(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "_base_" / "b.py", "load_from = 'missing_in_base.pth'\n")
    cfg = write(tmp_path / "c.py", """\
        # Stage 2 for the legacy cluster.
        # detaudit: ignore[DA201]
        _base_ = ['_base_/b.py']
        """)
    result = audit(str(cfg), select=["DA201", "DA007"], tier="static").audits[0]
    assert result.findings == [] and [f.location.file for f in result.suppressed] == ["_base_/b.py"]
    # at the top of a base file, it covers the findings located in that base
    write(tmp_path / "_base_" / "b.py", "# detaudit: ignore[DA201]\nload_from = 'missing_in_base.pth'\n")
    write(tmp_path / "c.py", "_base_ = ['_base_/b.py']\n")
    result = audit(str(cfg), select=["DA201", "DA007"], tier="static").audits[0]
    assert result.findings == [] and len(result.suppressed) == 1


def test_malformed_and_unknown_codes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write(tmp_path / "c.py", """\
        load_from = 'missing.pth'  # detaudit: ignore
        work_dir = 'w'  # detaudit: ignore[DA999, banana]
        resume = False  # detaudit: ignore[ZZ123]
        """)
    result = audit(str(cfg), select=["DA201", "DA007"], tier="static").audits[0]
    messages = sorted((f.code, f.location.line, f.message.split(":")[0]) for f in result.findings)
    assert messages == [("DA007", 1, "malformed suppression (no codes"),
                        ("DA007", 2, "malformed suppression ('BANANA' is not a rule code)"),
                        ("DA007", 3, "suppression names unknown rule code ZZ123"),
                        ("DA201", 1, "load_from 'missing.pth' does not exist")]


def test_severity_override_and_self_suppression(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write(tmp_path / "c.py", "work_dir = 'w'  # detaudit: ignore[DA201]\n")
    result = audit(str(cfg), select=["DA201", "DA007"], tier="static", severity={"DA007": "error"}).audits[0]
    assert [(f.code, f.severity) for f in result.findings] == [("DA007", "error")]
    write(tmp_path / "c.py", "# detaudit: ignore[DA007]\nwork_dir = 'w'  # detaudit: ignore[DA201]\n")
    result = audit(str(cfg), select=["DA201", "DA007"], tier="static").audits[0]
    assert result.findings == [] and [f.code for f in result.suppressed] == ["DA007"]


def test_suppression_of_a_build_finding_on_its_key_line(tmp_path, monkeypatch):
    """A real model-level finding (DA102 via lr_mult=0) suppressed on the line its location names."""
    import shutil

    from integ_helpers import TINY_BASE

    monkeypatch.chdir(tmp_path)
    shutil.copy(TINY_BASE, tmp_path / "tiny.py")
    cfg = write(tmp_path / "c.py", """\
        _base_ = ['tiny.py']
        optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
            'backbone': dict(lr_mult=0.0)}))  # detaudit: ignore[DA102]
        """)
    result = audit(str(cfg), select=["DA102", "DA007"], tier="build").audits[0]
    assert result.findings == [] and [(f.code, f.location.line) for f in result.suppressed] == [("DA102", 3)]

"""The generated rule reference stays in step with the rule docstrings."""
import subprocess
import sys

from audit_helpers import ROOT


def test_docs_rules_md_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts/gen_rules_doc.py"), "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_docs_rules_md_documents_every_rule():
    from detaudit.registry import all_rules

    text = (ROOT / "docs/rules.md").read_text()
    for code, r in all_rules().items():
        assert f"\n## {code}\n" in text and r.name in text

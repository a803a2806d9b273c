"""``--fix`` over every firing fixture of every rule with a fix: the fix removes the finding, changes
no merged key but the ones it names, and a second ``--fix`` changes nothing (idempotent).

The fixture's tree (its rule folder and the shared ``_base_``/``_data_``) is copied to a temporary
folder first, so the fixtures themselves are never edited. A firing fixture whose findings carry no
fix must be listed in NO_FIX with the reason, so a fix that silently disappears fails here.
"""
from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from detaudit.fix.engine import changed_keys, fix_config, merged_flat, outside, wanted
from detaudit.registry import all_rules
from detaudit.rule.declare import NO_FIX as NO_FIX_DOC
from detaudit.rule.fixes import edited_keys

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"
RULES = all_rules()
# the rules with a fix: their documentation's Fix section says what it changes (the others say "None: ...")
FIXABLE = sorted(code for code, r in RULES.items()
                 if not r.doc_sections().get("Fix", NO_FIX_DOC).startswith("None:") and (FIXTURES / code).is_dir())
NO_FIX = {
    "DA003/fires.py": "top-level 2.x keys reshape the config: detaudit migrate, not a fix",
    "DA003/fires_data.py": "a 2.x data block: detaudit migrate",
    "DA003/fires_logger_hooks.py": "a 2.x log_config: detaudit migrate",
    "DA003/fires_scheduler_places.py": "a 2.x lr_config: detaudit migrate",
    "DA003/fires_settings_lost.py": "top-level 2.x keys reshape the config: detaudit migrate, not a fix",
    "DA007/fires_no_codes.py": "a malformed comment: the codes it meant are not known",
    "DA801/fires_no_exec.py": "--no-exec reads no signature, so which keys to drop is not known",
    "DA804/fires_concat.py": "which class list is right is the user's choice",
    "DA804/fires_palette.py": "the missing colours are the user's choice",
}


def _cases():
    out = []
    for code in FIXABLE:
        for path in sorted((FIXTURES / code).glob("fires*.py")):
            out.append(pytest.param(code, path, id=f"{code}-{path.stem}"))
    return out


def _args(path: Path) -> list[str]:
    prefix = "# fixture-args:"
    return [a for line in path.read_text().splitlines() if line.startswith(prefix)
            for a in shlex.split(line[len(prefix):])]


def _copy_tree(code: str, tmp_path: Path) -> Path:
    for name in ("_base_", "_data_", code):
        if (FIXTURES / name).exists():
            shutil.copytree(FIXTURES / name, tmp_path / name)
    return tmp_path / code


def _auditor(path: Path, monkeypatch):
    from detaudit.driver import ConfigFile, audit as audit_source
    from detaudit.faces.cli.check import parser
    from detaudit.options import AuditOptions

    ns = parser().parse_args([str(path)] + _args(path))
    options = AuditOptions(input_size=(64, 96), no_exec=ns.no_exec)
    monkeypatch.chdir(path.parent)

    def audit(config, codes, tier=None):
        from detaudit.faces.cli.fix import cli_tier

        tier = tier or cli_tier([RULES[c].tier for c in codes if c in RULES])
        return audit_source(ConfigFile(str(config)), options.replace(select=list(codes), tier=tier)).findings

    def reaudit(config, codes):
        from detaudit.faces.cli.fix import cli_tier

        codes = [c for c in codes if c in RULES]
        return audit(config, codes, cli_tier([RULES[c].tier for c in codes]))

    return audit, reaudit


@pytest.mark.parametrize("code,fixture", _cases())
def test_fix_removes_the_finding_and_nothing_else(code, fixture, tmp_path, monkeypatch):
    folder = _copy_tree(code, tmp_path)
    config = folder / fixture.name
    audit, reaudit = _auditor(config, monkeypatch)
    select = [code] + (["DA201"] if code == "DA007" else [])
    findings = [f for f in audit(config, select) if f.code == code]
    assert findings, f"{fixture.name} no longer fires {code}"
    fixable = [f for f in findings if wanted(f, unsafe=True)]
    key = f"{code}/{fixture.name}"
    if not fixable:
        assert key in NO_FIX, f"{key}: the finding carries no fix; list it in NO_FIX with the reason"
        return
    assert key not in NO_FIX, f"{key} is listed in NO_FIX but its finding carries a fix"
    originals = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    before = merged_flat(config)
    result = fix_config(config, findings, unsafe=True, reaudit=reaudit, write=True)
    assert result.error is None
    assert all(o.applied for o in result.outcomes), [o.reason for o in result.outcomes]
    assert result.written, "nothing was written"
    # the finding is gone, re-audited from the files written
    left = [f for f in audit(config, select) if f.code == code and f.autofix is not None]
    assert not [f for f in left if any(f.key_path == g.key_path for g in fixable)]
    # no merged key changed but those the edits name (and the keys sharing their written value)
    after = merged_flat(config)
    allowed = [k for f in fixable for k in edited_keys(f.autofix["edits"]) + f.autofix.get("also", [])]
    changed = changed_keys(before, after)
    assert changed or code == "DA007"
    extra = [k for k in outside(changed, allowed) if not _shares_line(k, allowed, changed)]
    assert not extra
    # idempotent: a second --fix finds nothing to fix and writes nothing
    again = fix_config(config, audit(config, select), unsafe=True, reaudit=reaudit, write=True)
    assert not again.written
    assert {p: p.read_text() for p in tmp_path.rglob("*.py") if p in originals} != originals


def _shares_line(key: str, allowed: list[str], changed: list[str]) -> bool:
    """A key reached by the same written value as an edited key (one ``metainfo`` variable in two
    loaders): same leaf name as an edited key."""
    leaf = key.removesuffix("#type").split(".")
    return any(a.split(".")[-1] in leaf for a in allowed)


def test_fixable_rules_are_the_ones_with_fixes():
    assert FIXABLE == ["DA003", "DA007", "DA101", "DA801", "DA804"]


REAL = Path(__file__).parents[1] / "fixtures" / "real_mistakes"
# The real mistakes (tests/fixtures/real_mistakes) whose finding carries a safe fix, by code.
REAL_FIXABLE = {"adam_inherits_sgd_momentum.py": "DA801", "classes_string_without_comma.py": "DA804",
                "polylr_inherits_multistep_milestones.py": "DA801",
                "repeatdataset_added_keeps_base_dataset_keys.py": "DA801",
                "uppercase_classes_key_in_metainfo.py": "DA804", "vocmetric_keeps_cocometric_ann_file.py": "DA801",
                "yolox_data_prefix_string.py": "DA003"}


@pytest.mark.parametrize("name,code", sorted(REAL_FIXABLE.items()))
def test_real_mistakes_fixed(name, code, tmp_path, monkeypatch):
    shutil.copytree(REAL, tmp_path / "real")
    config = tmp_path / "real" / name
    audit, reaudit = _auditor(config, monkeypatch)
    findings = [f for f in audit(config, [code], "static") if f.code == code]
    fixable = [f for f in findings if wanted(f, unsafe=False)]
    assert fixable, f"{name}: {code} carries no safe fix"
    before = merged_flat(config)
    result = fix_config(config, findings, unsafe=False, reaudit=reaudit, write=True)
    assert result.written and all(o.applied for o in result.outcomes), [o.reason for o in result.outcomes]
    left = [f for f in audit(config, [code], "static") if f.code == code]
    assert not [f for f in left if any(f.key_path == g.key_path for g in fixable)]
    allowed = [k for f in fixable for k in edited_keys(f.autofix["edits"]) + f.autofix.get("also", [])]
    extra = [k for k in outside(changed_keys(before, merged_flat(config)), allowed)
             if not _shares_line(k, allowed, [])]
    assert not extra
    text = config.read_text()
    again = fix_config(config, audit(config, [code], "static"), unsafe=False, reaudit=reaudit, write=True)
    assert not again.written and config.read_text() == text

"""The result cache (detaudit/report/cache.py): an unchanged config audited the same way is
answered from the user's cache folder; editing a base file, a custom_imports module or the
checkpoint, or changing an option, audits again. Each run is a fresh ``detaudit`` process, as a
user's (or a pre-commit hook's) would be; the static tier keeps them quick: what is cached does
not depend on the tier (benchmarks/cache.py measures a full audit)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from audit_helpers import run_cli, validate_report
from detaudit.findings import Finding
from detaudit.report.cache import ResultCache, default_dir, disabled_by_environment, storable
from detaudit.report.result import AuditResult

BASE = "load_from = 'work_dirs/stage1/epoch_1.pth'\nmodel = dict(type='FasterRCNN')\n"
CONFIG = ("_base_ = ['./_base_/base.py']\n"
          "custom_imports = dict(imports=['myproj.models'], allow_failed_imports=False)\n")
ARGS = ("--tier", "static", "--select", "DA201,DA005", "--isolated", "--format", "json", "configs/stage2.py")


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "configs" / "_base_").mkdir(parents=True)
    (root / "configs" / "_base_" / "base.py").write_text(BASE)
    (root / "configs" / "stage2.py").write_text(CONFIG)
    (root / "myproj").mkdir()
    (root / "myproj" / "__init__.py").write_text("")
    (root / "myproj" / "models.py").write_text("X = 1\n")
    return root


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "user-cache" / "detaudit"


def audit(project, cache_dir, *extra, env=None):
    """One `detaudit` process; returns (the audit's JSON, stdout, stderr)."""
    proc = run_cli(*ARGS, *extra, cwd=project,
                   env={"DETAUDIT_NO_CACHE": "0", "DETAUDIT_CACHE_DIR": str(cache_dir), **(env or {})})
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    validate_report(report)
    (one,) = report["audits"]
    return one, proc


def codes(audit_json) -> list[str]:
    return sorted(f["code"] for f in audit_json["findings"])


def entries(cache_dir) -> list[Path]:
    return sorted((cache_dir / "results").rglob("*.json")) if (cache_dir / "results").is_dir() else []


def test_unchanged_config_is_answered_from_the_cache(project, cache_dir):
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    first, _ = audit(project, cache_dir)
    assert first["cached"] is False and codes(first) == ["DA201"]
    assert len(entries(cache_dir)) == 1
    second, _ = audit(project, cache_dir)
    assert second["cached"] is True
    strip = ("cached", "timings_s")
    assert {k: v for k, v in second.items() if k not in strip} == {k: v for k, v in first.items() if k not in strip}
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before  # nothing next to the config
    # touching a file without changing it: contents are what count
    base = project / "configs" / "_base_" / "base.py"
    os.utime(base, (time.time() + 5, time.time() + 5))
    assert audit(project, cache_dir)[0]["cached"] is True


def test_editing_a_base_file_audits_again(project, cache_dir):
    audit(project, cache_dir)
    (project / "configs" / "_base_" / "base.py").write_text(BASE.replace("work_dirs/stage1/epoch_1.pth", "ckpt.pth"))
    again, _ = audit(project, cache_dir)
    assert again["cached"] is False
    assert "ckpt.pth" in again["findings"][0]["message"]      # the edit is seen
    assert audit(project, cache_dir)[0]["cached"] is True


def test_the_checkpoint_appearing_or_changing_audits_again(project, cache_dir):
    (project / "configs" / "_base_" / "base.py").write_text(BASE.replace("work_dirs/stage1/epoch_1.pth", "ckpt.pth"))
    assert codes(audit(project, cache_dir)[0]) == ["DA201"]
    (project / "notes.md").write_text("a file saved next to where the checkpoint will be\n")
    assert audit(project, cache_dir)[0]["cached"] is True
    checkpoint = project / "ckpt.pth"
    checkpoint.write_bytes(b"weights")
    appeared, _ = audit(project, cache_dir)
    assert appeared["cached"] is False and codes(appeared) == []
    assert audit(project, cache_dir)[0]["cached"] is True
    checkpoint.write_bytes(b"other weights")   # size and mtime change
    assert audit(project, cache_dir)[0]["cached"] is False


def test_editing_a_custom_imports_module_audits_again(project, cache_dir):
    assert codes(audit(project, cache_dir)[0]) == ["DA201"]
    (project / "myproj" / "models.py").write_text("raise ImportError('models need a package we lack')\n")
    broken, _ = audit(project, cache_dir)
    assert broken["cached"] is False and codes(broken) == ["DA005"]   # the config no longer loads
    assert audit(project, cache_dir)[0]["cached"] is True
    (project / "myproj" / "__init__.py").write_text("# the package's own file counts too\n")
    assert audit(project, cache_dir)[0]["cached"] is False


def test_a_single_module_custom_import_is_hashed_alone(project, cache_dir):
    """``imports=['myplugin']`` with myplugin.py at the project's root: that file counts, the
    other files beside it do not."""
    (project / "configs" / "stage2.py").write_text(CONFIG.replace("myproj.models", "myplugin"))
    plugin = project / "myplugin.py"
    plugin.write_text("Y = 2\n")
    assert audit(project, cache_dir)[0]["cached"] is False
    (project / "scratch.py").write_text("# unrelated\n")
    assert audit(project, cache_dir)[0]["cached"] is True
    plugin.write_text("Y = 3\n")
    assert audit(project, cache_dir)[0]["cached"] is False


def test_other_options_are_another_entry(project, cache_dir):
    audit(project, cache_dir)
    other, _ = audit(project, cache_dir, "--severity", "DA201=warning")
    assert other["cached"] is False and other["findings"][0]["severity"] == "warning"
    assert audit(project, cache_dir)[0]["cached"] is True     # the first entry is still there
    assert audit(project, cache_dir, "--severity", "DA201=warning")[0]["cached"] is True


def test_a_new_data_folder_audits_again(project, cache_dir):
    (project / "configs" / "stage2.py").write_text(CONFIG + "data_root = 'data/coco/'\n"
                                                   "train_dataloader = dict(dataset=dict(type='CocoDataset', "
                                                   "data_root=data_root, ann_file='annotations/train.json'))\n")
    args = ("--select", "DA603")
    first, _ = audit(project, cache_dir, *args)
    assert codes(first) == ["DA603"]
    (project / "data" / "coco" / "annotations").mkdir(parents=True)
    (project / "data" / "coco" / "annotations" / "train.json").write_text("{}")
    second, _ = audit(project, cache_dir, *args)
    assert second["cached"] is False and codes(second) == []


def test_no_cache_neither_reads_nor_writes(project, cache_dir):
    audit(project, cache_dir)
    (entry,) = entries(cache_dir)
    stamp = entry.stat().st_mtime_ns
    bypassed, _ = audit(project, cache_dir, "--no-cache")
    assert bypassed["cached"] is False
    assert entries(cache_dir) == [entry] and entry.stat().st_mtime_ns == stamp
    assert audit(project, cache_dir, env={"DETAUDIT_NO_CACHE": "1"})[0]["cached"] is False


def test_cache_clean_empties_it(project, cache_dir):
    audit(project, cache_dir)
    assert entries(cache_dir)
    proc = run_cli("cache", "clean", cwd=project, env={"DETAUDIT_CACHE_DIR": str(cache_dir)})
    assert proc.returncode == 0 and "removed 1 cached result(s)" in proc.stderr
    assert entries(cache_dir) == []
    assert audit(project, cache_dir)[0]["cached"] is False
    where = run_cli("cache", "dir", cwd=project, env={"DETAUDIT_CACHE_DIR": str(cache_dir)})
    assert where.stdout.strip() == str(cache_dir)


def test_text_output_says_cached(project, cache_dir):
    env = {"DETAUDIT_NO_CACHE": "0", "DETAUDIT_CACHE_DIR": str(cache_dir)}
    text_args = [a for a in ARGS if a not in ("--format", "json")]
    first = run_cli(*text_args, cwd=project, env=env)
    second = run_cli(*text_args, cwd=project, env=env)
    assert "== configs/stage2.py (completed)" in first.stdout
    assert "== configs/stage2.py (completed, cached)" in second.stdout
    assert second.stdout.replace(", cached)", ")") == first.stdout
    assert second.returncode == first.returncode == 1


def test_the_cache_lives_in_the_users_cache_folder(project, tmp_path):
    """$XDG_CACHE_HOME/detaudit, although the audit points XDG_CACHE_HOME at a private folder
    while it runs (facts/sandbox.py)."""
    xdg = tmp_path / "xdg"
    env = {"DETAUDIT_NO_CACHE": "0", "DETAUDIT_CACHE_DIR": "", "XDG_CACHE_HOME": str(xdg)}
    run_cli(*ARGS, cwd=project, env=env)
    assert len(entries(xdg / "detaudit")) == 1
    second = json.loads(run_cli(*ARGS, cwd=project, env=env).stdout)
    assert second["audits"][0]["cached"] is True
    assert default_dir({"HOME": "/home/u"}) == Path(os.path.expanduser("~")) / ".cache" / "detaudit"
    assert default_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/detaudit")
    assert default_dir({"XDG_CACHE_HOME": "/c", "DETAUDIT_CACHE_DIR": "/d"}) == Path("/d")


def test_results_about_the_run_are_never_stored(tmp_path):
    ok = AuditResult(config="c.py", findings=[Finding("DA201", "load-from-missing", "error", "m")])
    assert storable(ok)
    for code in ("DA091", "DA092", "DA093"):
        assert not storable(AuditResult(config="c.py", findings=[Finding(code, "x", "error", "m")]))
    assert not storable(AuditResult(config="c.py", internal_errors=["rule DA101 crashed"]))
    cache = ResultCache(tmp_path)
    assert not cache.put("ab" * 32, "k", AuditResult(config="c.py", internal_errors=["boom"]))
    assert cache.put("ab" * 32, "k", ok) and cache.get("ab" * 32, "k").cached is True
    assert cache.get("ab" * 32, "another key") is None
    (tmp_path / "results" / "ab" / f"{'ab' * 32}.json").write_text("{broken")
    assert cache.get("ab" * 32, "k") is None     # a damaged entry is a miss, never an error


def test_disabling_by_environment():
    assert disabled_by_environment({"DETAUDIT_NO_CACHE": "1"})
    assert disabled_by_environment({"DETAUDIT_NO_CACHE": "true"})
    assert not disabled_by_environment({"DETAUDIT_NO_CACHE": "0"})
    assert not disabled_by_environment({})

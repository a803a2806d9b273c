"""What DA001/DA002 promise (issue 15, defect 4): the file and line the failure was raised at,
even for a bare ``raise RuntimeError()``, and with ``--debug`` the audited code's traceback,
in this process and from workers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from audit_helpers import run_cli
from detaudit.errors import ErrorInfo

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "tests" / "fixtures" / "projects" / "debug_traceback"


def cli(*args):
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(FOLDER)])}
    return run_cli(*args, "--tier", "build", "--select", "DA001,DA002", cwd=FOLDER, env=env)


@pytest.mark.parametrize("config,expected", [
    ("build_fails_in_module.py", "model failed to build: FileNotFoundError: [Errno 2] No such file or directory: "
                                 "'data/metadata/missing_embeddings.npy' (raised at zsclassifier/classifier.py:18)"),
    ("bare_runtime_error_build.py", "model failed to build: RuntimeError (no message) raised at "
                                    "zsclassifier/classifier.py:29"),
    ("bare_runtime_error_load.py", "configs/bare_runtime_error_load.py:10: DA001 [error] config failed to load: "
                                   "RuntimeError (no message) raised at configs/bare_runtime_error_load.py:10"),
])
def test_findings_name_where_the_failure_was_raised(config, expected):
    proc = cli(f"configs/{config}")
    assert expected in proc.stdout
    assert "RuntimeError: RuntimeError" not in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_debug_prints_the_traceback_into_the_audited_code(jobs):
    proc = cli("configs/build_fails_in_module.py", "configs/bare_runtime_error_load.py", "--debug", "--jobs", jobs)
    err = proc.stderr
    assert "configs/build_fails_in_module.py: traceback of the failed build step:" in err
    assert f'{FOLDER / "zsclassifier" / "classifier.py"}", line 18, in __init__' in err
    assert "configs/bare_runtime_error_load.py: traceback of the failed load step:" in err
    assert 'File "configs/bare_runtime_error_load.py", line 10, in <module>' in err
    assert "Traceback (most recent call last)" not in proc.stdout  # the report itself is unchanged


def test_relative_frames_match_the_preferred_files(tmp_path, monkeypatch):
    """mmengine compiles a lazy-import config under the path it was given (relative): the frame
    still matches the config's absolute path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg.py").write_text("x = 1\n")
    code = compile("\n\nraise RuntimeError()\n", "cfg.py", "exec")
    try:
        exec(code, {})
    except RuntimeError as exc:
        info = ErrorInfo.from_exception(exc, prefer_files=(str((tmp_path / "cfg.py").resolve()),))
    assert (info.file, info.line) == ("cfg.py", 3)
    assert info.short() == "RuntimeError (no message) raised at cfg.py:3"


def test_without_a_preferred_file_the_innermost_project_frame_is_named(tmp_path, monkeypatch):
    """Installed packages and the standard library are skipped: the frame is the project's."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "issue15_project_mod.py").write_text("import json\n\ndef load():\n    return json.loads('{')\n")
    import issue15_project_mod

    try:
        issue15_project_mod.load()
    except ValueError as exc:
        info = ErrorInfo.from_exception(exc)
    assert info.file == str(tmp_path / "issue15_project_mod.py") and info.line == 4
    sys.modules.pop("issue15_project_mod", None)

"""Ctrl-C and SIGTERM stop a run of audits within seconds: the report of what finished is written,
with an ``interrupted`` entry for each config that did not, and no process the run started (worker,
fork server, the run tier's child) nor temporary folder survives it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
PY = sys.executable


def _configs(folder: Path) -> list[Path]:
    """Two quick configs, one that says it started and then loops while loading, and one after it."""
    ok = f"_base_ = [{str(TINY)!r}]\n"
    hang = ok + ("__import__('pathlib').Path(__import__('os').environ['HANG_MARK']).write_text('started')\n"
                 "while True:\n    pass\n")
    paths = []
    for name, body in (("a_ok.py", ok), ("b_ok.py", ok), ("c_hang.py", hang), ("d_ok.py", ok)):
        paths.append(folder / name)
        paths[-1].write_text(body)
    return paths


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children of children included), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        found.update(kids)
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum,workers", [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_interrupted_run_writes_the_partial_report_and_leaves_nothing(tmp_path, signum, workers):
    configs = _configs(tmp_path)
    mark = tmp_path / "hang.started"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, HANG_MARK=str(mark), TMPDIR=str(scratch), DETAUDIT_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "report.json"
    # with workers: an explicit --timeout far away; in the CLI's own process: the tier's default bound
    limits = ["--jobs", "1", "--timeout", "600"] if workers else []
    proc = subprocess.Popen([PY, "-m", "detaudit", "--tier", "static", *limits, "--format", f"json:{out}",
                             *map(str, configs)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not mark.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert mark.exists(), "the hanging config never started"
        time.sleep(0.5)
        started = _descendants(proc.pid)
        if workers:
            assert started, "no worker process"
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, err[-3000:]
    assert took < 15, took
    assert "Traceback" not in err, err[-3000:]
    assert "interrupted: 2 of 4 config(s) finished" in err, err[-3000:]
    report = json.loads(out.read_text())
    assert report["schema_version"] == "1.2"
    statuses = {Path(a["config"]).name: a["status"] for a in report["audits"]}
    assert statuses == {"a_ok.py": "completed", "b_ok.py": "completed", "c_hang.py": "interrupted",
                        "d_ok.py": "interrupted"}, statuses
    stopped = next(a for a in report["audits"] if a["status"] == "interrupted")
    assert stopped["skipped_rules"] and "interrupted" in stopped["skipped_rules"][0]["reason"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.2)
    assert not [p for p in started if _alive(p)], "processes outlived the interrupted run"
    assert not list(scratch.iterdir()), list(scratch.iterdir())  # workers' folders, caches, the fork server's socket
    from audit_helpers import validate_report

    validate_report(report)


def test_ctrl_c_in_the_run_tier_ends_the_runs_process(tmp_path):
    """The run tier's forked child hangs in a hook; Ctrl-C to the CLI (its own process, no workers) ends
    the child too and removes the run's folder."""
    hang = ROOT / "tests" / "fixtures" / "hostile" / "hang_in_run.py"
    pid_file = tmp_path / "run.pid"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, HANG_PID_FILE=str(pid_file), TMPDIR=str(scratch),
               DETAUDIT_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "report.json"
    proc = subprocess.Popen([PY, "-m", "detaudit", "--tier", "run", "--select", "DA7", "--input-size", "64x96",
                             "--format", f"json:{out}", str(hang)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not pid_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert pid_file.exists(), "the run never reached the hanging hook"
        time.sleep(0.3)
        child = int(pid_file.read_text())
        assert child in _descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    (audit,) = json.loads(out.read_text())["audits"]
    assert audit["status"] == "interrupted"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child), "the run's process outlived the interrupted audit"
    assert not list(scratch.iterdir()), list(scratch.iterdir())

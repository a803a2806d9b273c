"""Many configs in supervised workers: order, isolation of crashes, hangs and memory blow-ups,
worker replacement, and the CLI options that drive them (--jobs, --timeout, --max-memory)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detaudit.workers import supervisor
from detaudit.options import AuditOptions, parse_size
from detaudit.workers.supervisor import audit_many
from detaudit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
PY = sys.executable


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body)
    return path


def tiny(folder: Path, name: str, extra: str = "") -> Path:
    return write(folder, name, f"_base_ = [{str(TINY)!r}]\n{extra}")


def run(items, options=None, jobs=2, progress=None, tier="build"):
    options = (options or AuditOptions()).replace(tier=tier)
    return list(audit_many([(str(p), options) for p in items], jobs=jobs, progress=progress))


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def test_results_come_back_in_input_order_and_match_in_process(tmp_path):
    """A slow config first and fast ones after: the report keeps the input order, and the
    workers find exactly what the in-process audit finds."""
    from detaudit.driver import audit as audit_one

    configs = [tiny(tmp_path, "a_slow.py", "load_from = 'missing.pth'\n"),
               write(tmp_path, "b_empty.py", ""),
               write(tmp_path, "c_syntax.py", "model = dict(\n"),
               tiny(tmp_path, "d_ok.py")]
    seen = []
    results = run(configs, progress=lambda done, total, running, r: seen.append((done, r.config)))
    assert [Path(r.config).name for r in results] == [p.name for p in configs]
    assert sorted(done for done, _ in seen) == [1, 2, 3, 4]
    settings = Settings(tier="build")
    for path, result in zip(configs, results):
        local = audit_one(str(path), settings)
        assert codes(result) == codes(local), path.name
        assert result.status == local.status
    assert "DA201" in codes(results[0]) and "DA001" in codes(results[2])


def test_a_dying_worker_is_a_finding_and_the_others_go_on(tmp_path):
    configs = [write(tmp_path, "exit0.py", "__import__('os')._exit(0)\n"),
               tiny(tmp_path, "ok1.py"),
               write(tmp_path, "kill.py", "__import__('os').kill(__import__('os').getpid(), 9)\n"),
               tiny(tmp_path, "ok2.py")]
    results = run(configs)
    assert [r.status for r in results] == ["failed", "completed", "failed", "completed"]
    crash0 = next(f for f in results[0].findings if f.code == "DA093")
    assert "exit code 0" in crash0.message
    crash2 = next(f for f in results[2].findings if f.code == "DA093")
    assert "SIGKILL" in crash2.message
    assert all("DA093" not in codes(r) for r in (results[1], results[3]))


def test_timeouts_soft_and_hard_then_the_next_config_runs(tmp_path):
    loop = write(tmp_path, "loop.py", "while True:\n    pass\n")
    stubborn = write(tmp_path, "stubborn.py",
                     "while True:\n    try:\n        __import__('threading').Event().wait()\n"
                     "    except BaseException:\n        pass\n")
    ok = tiny(tmp_path, "ok.py")
    start = time.monotonic()
    results = run([loop, stubborn, ok], AuditOptions(timeout=4), jobs=2)
    elapsed = time.monotonic() - start
    soft, hard, fine = results
    assert "DA091" in codes(soft) and "stopped while loading the config" in \
        next(f.message for f in soft.findings if f.code == "DA091")
    assert "DA001" in codes(soft)  # the load step reports how it ended
    assert "worker was killed" in next(f.message for f in hard.findings if f.code == "DA091")
    assert fine.status == "completed" and "DA091" not in codes(fine)
    assert elapsed < 4 + supervisor._grace(4) + 60


def test_a_hang_in_the_forward_keeps_the_findings_of_earlier_steps():
    config = ROOT / "tests" / "fixtures" / "hostile" / "hang_in_loss.py"
    settings = AuditOptions(tier="forward", timeout=10, input_size=(64, 96))
    results = list(audit_many([(str(config), settings)], jobs=1))
    (result,) = results
    stop = next(f for f in result.findings if f.code == "DA091")
    assert "running the loss forward" in stop.message
    assert result.status == "partial"
    assert result.tiers["build"] == "ok" and result.tiers["forward"] == "failed"
    assert result.model is not None  # the build's model table survived the stop


def test_a_hang_in_the_run_stops_the_run_and_its_process(tmp_path, monkeypatch):
    """The run tier's process hangs in a hook: --timeout stops the audit there (DA091 names the run),
    the run's process is ended with it and its folder removed, and no other finding blames the config."""
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("HANG_PID_FILE", str(tmp_path / "hang.pid"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    config = ROOT / "tests" / "fixtures" / "hostile" / "hang_in_run.py"
    settings = AuditOptions(tier="run", select=["DA0", "DA7"], timeout=45, input_size=(64, 96))
    (result,) = list(audit_many([(str(config), settings)], jobs=1))
    stop = next(f for f in result.findings if f.code == "DA091")
    assert "running the Runner (--tier run)" in stop.message, stop.message
    assert not [f for f in result.findings if f.code.startswith("DA7")], result.findings
    assert result.tiers["train"] == "ok" and result.tiers["run"] == "failed"
    assert not list(tmp_path.glob("detaudit-run-*"))
    pid = int((tmp_path / "hang.pid").read_text())  # the run's process, as the hook wrote it
    assert pid != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_memory_cap_makes_a_finding_and_spares_the_next_config(tmp_path):
    grow = write(tmp_path, "grow.py", "chunks = [bytearray(10_000_000) for _ in range(300)]\n")
    ok = tiny(tmp_path, "ok.py")
    results = run([grow, ok], AuditOptions(max_memory=parse_size("256M")), jobs=1)
    found = next(f for f in results[0].findings if f.code == "DA092")
    assert "256.0 MiB" in found.message and found.evidence["limit_bytes"] == 256 * 1024 ** 2
    assert results[1].status == "completed" and "DA092" not in codes(results[1])


@pytest.mark.parametrize("growth, stopped", [(1.2, False), (1.7, True)])
def test_resident_watch_leaves_room_above_an_address_limit(tmp_path, monkeypatch, growth, stopped):
    """Under its address-space limit a worker's resident memory may pass --max-memory a little
    (pages mapped before the limit come back): the watch stops it only well past the limit."""
    from detaudit.workers.worker import rss_bytes

    limit = parse_size("4G")
    monkeypatch.setattr(supervisor, "rss_bytes", lambda pid: rss_bytes(pid) + int(growth * limit))
    monkeypatch.setattr(supervisor, "WATCH_INTERVAL", 0.05)
    slow = tiny(tmp_path, "slow.py", "__import__('time').sleep(1.0)\n")
    [result] = run([slow], AuditOptions(max_memory=limit), jobs=1, tier="static")
    assert ("DA092" in codes(result)) is stopped, result.findings
    assert (result.status == "completed") is not stopped


def test_workers_are_recycled_without_changing_results(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "RECYCLE_AFTER", 1)
    configs = [tiny(tmp_path, f"c{i}.py", f"load_from = 'missing{i}.pth'\n") for i in range(4)]
    results = run(configs, jobs=2, tier="static")
    assert [Path(r.config).name for r in results] == [p.name for p in configs]
    assert all("DA201" in codes(r) for r in results)


def test_worker_state_is_reset_per_config(tmp_path):
    """A config that changes the working directory and the environment does not leak into
    the next config audited by the same worker."""
    changer = write(tmp_path, "changer.py", "__import__('os').chdir('/')\n"
                                            "__import__('os').environ['DETAUDIT_LEAK'] = 'x'\n")
    (tmp_path / "ckpt.pth").write_bytes(b"x")
    relative = tiny(tmp_path, "relative.py", "load_from = 'ckpt.pth'\n")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        results = run([changer, relative], jobs=1, tier="static")
    finally:
        os.chdir(old)
    assert "DA201" not in codes(results[1]), "the relative load_from must resolve in the launch directory"


@pytest.mark.parametrize("text,expected", [("4G", 4 * 1024 ** 3), ("512M", 512 * 1024 ** 2),
                                           ("1.5GiB", int(1.5 * 1024 ** 3)), ("2GB", 2 * 1000 ** 3)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "lots", "4X", "1K", "-1G"])
def test_parse_size_rejects(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


@pytest.mark.parametrize("args,needle", [(["--jobs", "0"], "--jobs 0 out of range"),
                                         (["--jobs", "many"], "number of jobs"),
                                         (["--timeout", "-3"], "--timeout -3 out of range"),
                                         (["--max-memory", "10K"], "smallest useful limit")])
def test_bad_options_are_one_line_usage_errors(cli, args, needle):
    proc = cli(*args, str(TINY), timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_cli_jobs_json_report_in_input_order_with_progress_on_a_terminal(tmp_path):
    """Through the real command line, stderr a terminal: progress lines appear there, the JSON
    report on stdout is intact and in input order, and the exit code counts findings."""
    import pty

    configs = [tiny(tmp_path, "z_first.py", "load_from = 'nope.pth'\n"), tiny(tmp_path, "a_second.py"),
               write(tmp_path, "m_third.py", "raise ValueError('no')\n")]
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([PY, "-m", "detaudit", "--jobs", "2", "--tier", "static", "--format", "json",
                               *map(str, configs)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave,
                              timeout=300, text=True)
        os.close(slave)
        slave = None
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [a["config"] for a in report["audits"]] == [p.name for p in configs]
    assert b"[3/3]" in err and b"Traceback" not in err


def test_workers_end_when_the_supervisor_is_killed(tmp_path):
    loop = write(tmp_path, "loop.py", "while True:\n    pass\n")
    proc = subprocess.Popen([PY, "-m", "detaudit", "--jobs", "2", "--timeout", "600", str(loop), str(loop)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = _grandchildren(proc.pid)
        assert len(workers) >= 2, "the workers did not start"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.5)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived their supervisor"


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _grandchildren(pid: int) -> list[int]:
    return [g for c in _children(pid) for g in _children(c)]


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"

"""``--executor ray`` against a real Ray cluster on this machine (tests/ray_cluster.py: a head
node and a second worker node in a network namespace with loopback only, started and stopped by
the fixture, every process checked by pid): the same findings as ``--jobs 2`` on zoo and hostile
configs (a hang, a memory bomb, a syntax error, a process that exits), no config lost when a Ray
worker is killed mid-run, the result cache shared with local runs, and clear errors when Ray is
missing or no node can take an audit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detaudit.cli import main

from ray_cluster import listening_addresses, start_cluster

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
PY = sys.executable
LIMITS = ["--timeout", "20", "--max-memory", "2G"]
ZOO = ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", "retinanet/retinanet_r50_fpn_1x_coco.py",
       "fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py", "rtmdet/rtmdet_tiny_8xb32-300e_coco.py",
       "mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py",
       "convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py"]   # the last needs mmpretrain (absent)
FIXTURES = ["rules/DA201/fires.py", "rules/DA003/fires.py", "rules/DA001/fires_missing_base.py", "rules/DA205/fires.py",
            "hostile/bad_load_from.py", "hostile/model_none.py", "hostile/raises.py", "hostile/sys_exit.py",
            "hostile/wrong_types.py", "hostile/prints.py"]
HOSTILE = {"hostile/loop_forever.py": "DA091", "rules/DA092/fires_max_memory.py": "DA092",
           "hostile/syntax_error.py": "DA001", "hostile/os_exit.py": "DA093"}


def _zoo() -> Path:
    import importlib.util

    return Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        left = cluster.stop()
    assert not left, f"Ray processes left running: {sorted(left)}"


def _ray_run(cluster, args: list[str], *, env=None, cwd=ROOT, timeout=600) -> subprocess.CompletedProcess:
    environ = dict(cluster.env, **(env or {}))
    cmd = cluster.command([PY, "-m", "detaudit", "--executor", "ray", "--ray-address", cluster.address, *args])
    return subprocess.run(cmd, env=environ, cwd=str(cwd), capture_output=True, text=True, timeout=timeout)


def _audits(path: Path) -> list[dict]:
    return json.loads(path.read_text())["audits"]


def _comparable(audit: dict) -> dict:
    """An audit without what differs from run to run: timings, and a dead worker's exit details."""
    out = {k: v for k, v in audit.items() if k not in ("timings_s", "cached")}
    out["findings"] = [{k: v for k, v in f.items() if k != "evidence"} for f in audit["findings"]]
    return out


def test_twenty_configs_through_the_cluster_match_jobs_2(cluster, tmp_path):
    configs = [str(_zoo() / c) for c in ZOO] + [str(FIX / c) for c in FIXTURES] + [str(FIX / c) for c in HOSTILE]
    assert len(configs) == 20
    common = ["--tier", "build", *LIMITS, "--no-cache", "--exit-zero", "--format"]
    start = time.monotonic()
    local = subprocess.run([PY, "-m", "detaudit", "--jobs", "2", *common, f"json:{tmp_path / 'local.json'}", *configs],
                           cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                           text=True, timeout=900)
    local_s = time.monotonic() - start
    assert local.returncode == 0, local.stderr[-3000:]
    start = time.monotonic()
    ray = _ray_run(cluster, [*common, f"json:{tmp_path / 'ray.json'}", *configs], timeout=900)
    ray_s = time.monotonic() - start
    assert ray.returncode == 0, ray.stderr[-3000:]
    print(f"20 configs at the build tier: --jobs 2 {local_s:.1f} s, Ray (2 nodes x 1 CPU) {ray_s:.1f} s")
    want, got = _audits(tmp_path / "local.json"), _audits(tmp_path / "ray.json")
    assert [a["config"] for a in got] == [a["config"] for a in want]
    for w, g in zip(want, got):
        assert _comparable(g) == _comparable(w), g["config"]
    by_config = {a["config"]: {f["code"] for f in a["findings"]} for a in got}
    for rel, code in HOSTILE.items():
        (codes,) = [c for name, c in by_config.items() if name.endswith(rel)]
        assert code in codes, (rel, codes)
    built = [a for a in got if "faster-rcnn_r50_fpn" in a["config"]]
    assert built[0]["tiers"]["build"] == "ok" and built[0]["model"]["total_params"] > 1_000_000


SLOW_ONCE = """\
# Slow the first time it is audited (the test kills the Ray worker running it meanwhile), quick after.
__os = __import__('os')
__marker = {marker!r}
__fh = open(__marker + '.attempts', 'a')
__fh.write(str(__os.getpid()) + ' ' + str(__os.getppid()) + '\\n')
__fh.close()
if not __os.path.exists(__marker):
    open(__marker, 'w').close()
    __import__('time').sleep(60)
_base_ = [{base!r}]
"""

def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def test_a_ray_worker_killed_mid_run_loses_no_config(cluster, tmp_path):
    """The audit's fork server is a child of the Ray worker that runs the task: kill that worker
    while the config sleeps; the task runs again elsewhere and every config is in the report."""
    marker = tmp_path / "slow.marker"
    slow = tmp_path / "slow_once.py"
    slow.write_text(SLOW_ONCE.format(marker=str(marker), base=str(FIX / "rules" / "_base_" / "tiny_frcnn.py")))
    configs = [str(slow)] + [str(FIX / c) for c in FIXTURES[:3]]
    out = tmp_path / "report.json"
    cmd = cluster.command([PY, "-m", "detaudit", "--executor", "ray", "--ray-address", cluster.address, "--tier",
                           "static", "--timeout", "120", "--no-cache", "--exit-zero", "--format", f"json:{out}",
                           *configs])
    proc = subprocess.Popen(cmd, env=cluster.env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        attempts = Path(str(marker) + ".attempts")
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert marker.exists(), proc.stderr.read() if proc.poll() is not None else "the slow config never started"
        audit_pid, server_pid = (int(x) for x in attempts.read_text().split()[:2])
        ray_worker = _parent(server_pid)
        assert cluster.is_descendant(ray_worker, cluster.raylets()), "not a worker of the test cluster"
        with open(f"/proc/{ray_worker}/cmdline", "rb") as fh:
            assert b"ray::" in fh.read()
        os.kill(ray_worker, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    audits = _audits(out)
    assert [a["config"] for a in audits] == [os.path.relpath(c, ROOT) for c in configs]
    first = audits[0]
    assert first["status"] == "completed" and not {"DA091", "DA093"} & {f["code"] for f in first["findings"]}
    assert len(attempts.read_text().splitlines()) == 2   # run again after the kill
    deadline = time.monotonic() + 15                     # the killed worker's audit process went with it
    while os.path.exists(f"/proc/{audit_pid}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{audit_pid}")


def test_the_result_cache_is_shared_with_local_runs(cluster, tmp_path):
    configs = [str(FIX / c) for c in ("rules/DA201/fires.py", "rules/DA003/fires.py", "hostile/syntax_error.py")]
    project = tmp_path / "project"
    project.mkdir()
    edited = project / "edited.py"
    edited.write_text(f"_base_ = [{str(FIX / 'rules' / '_base_' / 'tiny_frcnn.py')!r}]\n")
    configs.append(str(edited))
    cache = {"DETAUDIT_CACHE_DIR": str(tmp_path / "cache"), "DETAUDIT_NO_CACHE": ""}
    local = subprocess.run([PY, "-m", "detaudit", "--tier", "static", "--exit-zero", "--format",
                            f"json:{tmp_path / 'local.json'}", *configs], env=dict(cluster.env, **cache),
                           cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr[-3000:]
    assert not any(a["cached"] for a in _audits(tmp_path / "local.json"))
    ray = _ray_run(cluster, ["--tier", "static", "--exit-zero", "--format", f"json:{tmp_path / 'ray.json'}", *configs],
                   env=cache)
    assert ray.returncode == 0, ray.stderr[-3000:]
    # the syntax error is cached too: it is a finding about the config, not about the run
    assert [a["cached"] for a in _audits(tmp_path / "ray.json")] == [True] * 4
    edited.write_text(edited.read_text() + "load_from = 'missing.pth'\n")
    ray = _ray_run(cluster, ["--tier", "static", "--exit-zero", "--format", f"json:{tmp_path / 'ray2.json'}",
                             *configs], env=cache)
    assert ray.returncode == 0, ray.stderr[-3000:]
    second = _audits(tmp_path / "ray2.json")
    assert [a["cached"] for a in second] == [True, True, True, False]
    assert "DA201" in {f["code"] for f in second[3]["findings"]}


def test_no_node_large_enough_is_a_clear_error(cluster):
    ray = _ray_run(cluster, ["--tier", "static", "--max-memory", "500G", "--no-cache", str(FIX / "rules/DA201/fires.py")],
                   timeout=180)
    assert ray.returncode == 2
    assert "no node of the Ray cluster at" in ray.stderr and "GiB" in ray.stderr and "Traceback" not in ray.stderr


def test_each_task_declares_one_cpu_and_a_memory_budget():
    from detaudit.options import AuditOptions
    from detaudit.workers.ray_executor import TIER_MEMORY, WORKER_BASE, task_resources

    assert task_resources(AuditOptions(tier="run", max_memory=6 * 1024 ** 3)) == {
        "num_cpus": 1, "memory": 6 * 1024 ** 3 + WORKER_BASE}
    static, run = (task_resources(AuditOptions(tier=t))["memory"] for t in ("static", "run"))
    assert static == TIER_MEMORY["static"] + WORKER_BASE < run == TIER_MEMORY["run"] + WORKER_BASE


def test_without_ray_the_option_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["--executor", "ray", "--tier", "static", str(FIX / "rules/DA201/fires.py")]) == 2
    assert "pip install 'detaudit[ray]'" in capsys.readouterr().err


def test_ray_address_needs_the_ray_executor(capsys):
    assert main(["--ray-address", "127.0.0.1:1", "--tier", "static", str(FIX / "rules/DA201/fires.py")]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(_parent(int(entry)), []).append(int(entry))
            except (OSError, ValueError):
                pass
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_a_ray_instance_of_its_own_listens_on_loopback_only_and_is_gone_after(tmp_path):
    """Without --ray-address the run starts a one-node Ray instance on this machine: its servers
    listen on 127.0.0.1 only, its temp folder and its authentication token are its own (nothing
    written into ~/.ray), and nothing of it outlives the run."""
    marker = tmp_path / "slow.marker"
    slow = tmp_path / "slow_once.py"
    slow.write_text(SLOW_ONCE.format(marker=str(marker), base=str(FIX / "rules" / "_base_" / "tiny_frcnn.py"))
                    .replace("sleep(60)", "sleep(3)"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), DETAUDIT_NO_CACHE="1")
    for key in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(key, None)
    token_file = Path.home() / ".ray" / "auth_token"
    had_token_file = token_file.exists()
    proc = subprocess.Popen([PY, "-m", "detaudit", "--executor", "ray", "--jobs", "1", "--tier", "static",
                             "--exit-zero", "--format", f"json:{tmp_path / 'r.json'}", str(slow)],
                            env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert marker.exists(), proc.communicate()[1][-3000:]
        ray_pids = _descendants(proc.pid)
        addresses = listening_addresses(ray_pids)
        assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses
        cmdlines = []
        for pid in ray_pids:
            try:
                cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                pass
        assert any("detaudit-ray-" in c for c in cmdlines) and not any("/tmp/ray/" in c for c in cmdlines)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    assert _audits(tmp_path / "r.json")[0]["status"] == "completed"
    deadline = time.monotonic() + 20
    while any(os.path.exists(f"/proc/{p}") for p in ray_pids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [p for p in ray_pids if os.path.exists(f"/proc/{p}")], "Ray processes outlived the run"
    assert token_file.exists() == had_token_file, "the run wrote into ~/.ray"

"""A Ray cluster on this machine for the tests of ``--executor ray``: a head node and a second
worker node, each a separate ``ray start`` with one CPU, a small object store, no dashboard and no
usage statistics.

The cluster lives in a network namespace of its own that has only the loopback interface: Ray's
servers listen on all interfaces of their namespace and a node names itself by the machine's
network address, so the namespace is what keeps every socket of the cluster on 127.0.0.1 (a
second node on the same machine cannot be told otherwise). The driver, ``detaudit --executor ray``,
runs in the same namespace (:meth:`RayCluster.command`). The cluster's processes are found by its
own temp folder (in their command lines) and their descendants, and stopped by pid: ``ray stop`` is
never used, since it would stop every Ray instance on the machine."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3
OBJECT_STORE = 200 * 1000 ** 2
LOCAL_ONLY = {"RAY_USAGE_STATS_ENABLED": "0"}   # no usage statistics


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        out[int(entry)] = (ppid, cmd)
    return out


@dataclass
class RayCluster:
    temp_dir: str
    address: str
    env: dict
    namespace: subprocess.Popen | None = None     # holds the network namespace open
    started: set = field(default_factory=set)

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the cluster's network namespace."""
        return ["nsenter", f"--net=/proc/{self.namespace.pid}/ns/net", *argv]

    def processes(self) -> set[int]:
        """Every live process of this cluster: those naming its temp folder, and their descendants."""
        table = _proc_table()
        roots = {pid for pid, (_, cmd) in table.items() if self.temp_dir in cmd}
        found = set(roots) | {p for p in self.started if p in table}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _) in table.items():
                if ppid in found and pid not in found:
                    found.add(pid)
                    changed = True
        return found

    def raylets(self) -> set[int]:
        table = _proc_table()
        return {pid for pid, (_, cmd) in table.items() if self.temp_dir in cmd and "raylet" in cmd.split()[0]}

    def is_descendant(self, pid: int, of: set[int]) -> bool:
        table = _proc_table()
        seen = set()
        while pid in table and pid not in seen:
            if pid in of:
                return True
            seen.add(pid)
            pid = table[pid][0]
        return False

    def stop(self) -> set[int]:
        """SIGTERM, then SIGKILL, to every process of the cluster, then the namespace's holder;
        the pids that survived (none)."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            pids = self.processes()
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self.processes():
                time.sleep(0.2)
            if not self.processes():
                break
        left = self.processes()
        if self.namespace is not None and self.namespace.poll() is None:
            self.namespace.kill()
            self.namespace.wait(timeout=10)
        if not left:
            shutil.rmtree(self.temp_dir, ignore_errors=True)   # the cluster's logs and sockets
        return left


def start_cluster() -> RayCluster:
    temp_dir = tempfile.mkdtemp(prefix="dar", dir="/tmp")   # short: Ray's socket paths live under it
    env = dict(os.environ)
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    # token authentication with a token of this cluster, in the environment of its processes and of
    # the drivers the tests start (nothing read from or written to ~/.ray)
    env.update(LOCAL_ONLY, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=uuid.uuid4().hex,
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    ray_bin = str(Path(sys.executable).with_name("ray"))
    (gcs, client, head_nm, head_om, head_re, head_me, head_ag, head_al, wk_nm, wk_om, wk_re, wk_me, wk_ag,
     wk_al, dash) = _free_ports(15)
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--num-gpus", "0", "--temp-dir", temp_dir,
              "--object-store-memory", str(OBJECT_STORE), "--disable-usage-stats", "--log-style", "record"]
    head = [ray_bin, "start", "--head", "--port", str(gcs), "--include-dashboard", "false",
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
            "--node-manager-port", str(head_nm),
            "--object-manager-port", str(head_om), "--runtime-env-agent-port", str(head_re),
            "--metrics-export-port", str(head_me), "--dashboard-agent-grpc-port", str(head_ag),
            "--dashboard-agent-listen-port", str(head_al), *common]
    worker = [ray_bin, "start", "--address", f"127.0.0.1:{gcs}", "--node-manager-port", str(wk_nm),
              "--object-manager-port", str(wk_om), "--runtime-env-agent-port", str(wk_re),
              "--metrics-export-port", str(wk_me), "--dashboard-agent-grpc-port", str(wk_ag),
              "--dashboard-agent-listen-port", str(wk_al), *common]
    cluster = RayCluster(temp_dir=temp_dir, address=f"127.0.0.1:{gcs}", env=env)
    try:
        cluster.namespace = _loopback_namespace()
        for cmd in (head, worker):
            proc = subprocess.run(cluster.command(cmd), env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=180)
            cluster.started |= cluster.processes()
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        _wait_for_nodes(cluster, 2)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _loopback_namespace() -> subprocess.Popen:
    """A process holding a new network namespace whose only interface, loopback, is up."""
    holder = subprocess.Popen(["unshare", "--net", "sh", "-c", "ip link set lo up && exec sleep 86400"],
                              stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(["nsenter", f"--net=/proc/{holder.pid}/ns/net", "cat", "/proc/net/dev"],
                               capture_output=True, text=True)
        links = [ln.split(":")[0].strip() for ln in probe.stdout.splitlines()[2:]]
        up = subprocess.run(["nsenter", f"--net=/proc/{holder.pid}/ns/net", "ip", "-o", "link", "show", "lo"],
                            capture_output=True, text=True).stdout
        if links == ["lo"] and "UP" in up.split(">")[0]:
            return holder
        if holder.poll() is not None:
            break
        time.sleep(0.1)
    holder.kill()
    raise RuntimeError("could not make a network namespace with loopback only (unshare --net, ip link)")


def _wait_for_nodes(cluster: RayCluster, count: int, timeout: float = 60.0) -> None:
    """Both raylets registered (the worker node's may take a moment after ``ray start`` returns)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(cluster.raylets()) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster has {len(cluster.raylets())} of {count} raylets after {timeout:g} s")


def listening_addresses(pids: set[int]) -> set[str]:
    """The local addresses the given processes listen on (TCP), read from /proc (each process's
    own network namespace)."""
    inodes, tables = set(), set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
        tables |= {(f"/proc/{pid}/net/tcp", 8), (f"/proc/{pid}/net/tcp6", 32)}
    found = set()
    for table, width in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] != "0A" or parts[9] not in inodes:   # 0A: LISTEN
                continue
            found.add(_hex_address(parts[1].split(":")[0], width))
    return found


def _hex_address(host: str, width: int) -> str:
    if width == 8:
        raw = bytes.fromhex(host)[::-1]
        return socket.inet_ntop(socket.AF_INET, raw)
    raw = b"".join(bytes.fromhex(host[i:i + 8])[::-1] for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)

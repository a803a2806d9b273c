"""Proof that an audit is read-only and offline.

Every audit here runs as a real command line in a subprocess whose Python processes (the CLI,
the fork server, the workers) all carry an audit hook (PEP 578), installed by a
``sitecustomize`` module put on PYTHONPATH. The hook records, from inside the interpreter,
every file opened for writing, every file or folder created, renamed or removed, every DNS
lookup, socket connection and URL request. Blocked attempts are recorded too (``urllib``
requests are seen before any socket is made).

A test fails when:
- the hook saw a write outside the requested report and the run's private temporary
  folder, or any network activity;
- the private temporary folder is not empty afterwards (mmengine writes a substituted copy of
  each config there while loading and removes it; the synthetic pipeline image likewise);
- a snapshot (mtime, size, SHA-256 of every file) of the audited config folder, the working
  directory, HOME (and the torch/mmengine caches inside it) differs before and after;
- in the repository, a file changed during the run that the hook saw the audit write
  (other work may edit the repository at the same time; the hook tells which changes are ours).

A positive control runs a config that writes a file and opens a socket without --no-exec and
checks that the hook catches both: the proof is not vacuous.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
ZOO_SAMPLE = ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", "retinanet/retinanet_r50_fpn_1x_coco.py",
              "detr/detr_r50_8xb2-150e_coco.py", "swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py",
              "rtmdet/rtmdet_tiny_8xb32-300e_coco.py",
              "convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py"]

SITECUSTOMIZE = r'''
import os, sys

_log = os.environ.get("DETAUDIT_AUDIT_LOG")
if _log:
    _fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    _PATH_EVENTS = {"os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.truncate", "os.symlink", "os.link",
                    "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
                    "shutil.copytree", "shutil.make_archive"}
    _NET_EVENTS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
                   "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"}
    _busy = [False]

    def _record(kind, detail):
        line = (kind + "\t" + str(os.getpid()) + "\t" + detail.replace("\n", " ") + "\n").encode("utf-8", "replace")
        os.write(_fd, line)

    def _hook(event, args):
        if _busy[0]:
            return
        _busy[0] = True
        try:
            if event == "open":
                path, mode, flags = (list(args) + [None, None, None])[:3]
                if isinstance(path, int) or path is None:
                    return
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                          (isinstance(flags, int) and flags & _WRITE_FLAGS)
                if writing:
                    _record("write", os.fsdecode(path))
            elif event in _PATH_EVENTS:
                _record("fs", event + " " + " ".join(os.fsdecode(a) if isinstance(a, (str, bytes, os.PathLike))
                                                   else repr(a) for a in args))
            elif event == "socket.connect":
                address = args[1] if len(args) > 1 else None
                if isinstance(address, tuple):  # AF_INET/AF_INET6; AF_UNIX paths are local pipes
                    _record("net", event + " " + repr(address))
            elif event in _NET_EVENTS:
                _record("net", event + " " + repr(args[:2]))
        except Exception:
            pass
        finally:
            _busy[0] = False

    sys.addaudithook(_hook)
'''


def snapshot(folder: Path, skip=(".git", ".venv", "__pycache__")) -> dict[str, tuple]:
    out = {}
    if not folder.exists():
        return out
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in skip for part in rel.parts):
            continue
        try:
            st = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(rel)] = (st.st_mtime_ns, st.st_size, digest)
        else:
            out[str(rel)] = ("dir" if path.is_dir() else "other", st.st_mtime_ns)
    return out


def changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


class Sandbox:
    """A HOME, temporary folder and caches of our own, the audit hook on PYTHONPATH."""

    def __init__(self, base: Path):
        self.base = base
        self.home = base / "home"
        self.tmp = base / "tmp"
        self.hook_dir = base / "hook"
        self.log = base / "audit-events.log"
        for d in (self.home, self.tmp, self.hook_dir, self.home / ".cache" / "torch",
                  self.home / ".cache" / "mmengine"):
            d.mkdir(parents=True, exist_ok=True)
        (self.hook_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
        env.update(HOME=str(self.home), TMPDIR=str(self.tmp), TORCH_HOME=str(self.home / ".cache" / "torch"),
                   MMENGINE_HOME=str(self.home / ".cache" / "mmengine"), DETAUDIT_AUDIT_LOG=str(self.log),
                   PYTHONPATH=os.pathsep.join([str(self.hook_dir)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        env.pop("XDG_CACHE_HOME", None)
        env.pop("MPLCONFIGDIR", None)
        return env

    def run(self, args, cwd: Path, timeout=900):
        return subprocess.run([PY, "-m", "detaudit", *map(str, args)], cwd=cwd, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def events(self) -> list[tuple[str, str, str]]:
        if not self.log.exists():
            return []
        return [tuple(line.split("\t", 2)) for line in self.log.read_text().splitlines() if line.count("\t") >= 2]


def _under(path: str, folder: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _touched(events) -> list[tuple[str, str]]:
    """(kind, path) for every path an event wrote, created, renamed or removed."""
    out = []
    for kind, _pid, detail in events:
        if kind == "write":
            out.append((kind, detail))
        elif kind == "fs":
            out += [(kind, token) for token in detail.split(" ")[1:] if token.startswith("/")]
    return out


def _check_events(box: Sandbox, report: Path | None):
    """Writes only in the private temp folder or as the report; no network at all."""
    events = box.events()
    assert events, "the audit hook recorded nothing: it was not installed"
    net = [e for e in events if e[0] == "net"]
    assert not net, f"network activity: {net[:5]}"
    stray = []
    for kind, path in _touched(events):
        if _under(path, box.tmp) or path in ("/dev/null", "/dev/tty"):
            continue
        if report is not None and Path(os.path.abspath(path)).parent == report.parent.resolve() and \
                Path(path).name.lstrip(".").startswith(report.name):
            continue  # the report, written through a temporary sibling then renamed
        if report is not None and Path(os.path.abspath(path)) == report.parent.resolve():
            continue  # the report's folder (made if missing)
        if _under(path, box.base) and Path(path) == box.log:
            continue
        stray.append((kind, path))
    assert not stray, f"writes outside the report and the private temp folder: {stray[:10]}"
    left = sorted(str(p.relative_to(box.tmp)) for p in box.tmp.rglob("*"))
    assert not left, f"temporary files left behind: {left[:10]}"
    return events


def _audit_and_prove(tmp_path, args, config_dir: Path, cwd: Path, expect_exit=(0, 1)):
    box = Sandbox(tmp_path / "box")
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    watched = {"config dir": config_dir, "cwd": cwd, "home": box.home}
    before = {name: snapshot(folder) for name, folder in watched.items()}
    repo_before = snapshot(ROOT)
    proc = box.run([*args, "--format", f"json:{report}"], cwd=cwd)
    assert proc.returncode in expect_exit, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    for name, folder in watched.items():
        diff = changed(before[name], snapshot(folder))
        assert not diff, f"the audit changed the {name} ({folder}): {diff[:10]}"
    events = _check_events(box, report)
    written = {os.path.abspath(path) for _, path in _touched(events)}
    ours = [p for p in changed(repo_before, snapshot(ROOT)) if str(ROOT / p) in written]
    assert not ours, f"the audit changed files in the repository: {ours}"
    return json.loads(report.read_text()), events


def test_examples_are_audited_read_only_and_offline(tmp_path):
    """The bundled example configs, full default audit (run tier) in workers; cwd a copy
    of the repository's examples folder so that the working directory is fully ours."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples" / "configs", work / "configs")
    configs = sorted((work / "configs").glob("*.py"))
    data, _ = _audit_and_prove(tmp_path, ["--jobs", "2", "--input-size", "64x96", *configs],
                               config_dir=work / "configs", cwd=work)
    assert len(data["audits"]) == len(configs)
    assert all(a["status"] != "failed" for a in data["audits"]), [(a["config"], a["status"]) for a in data["audits"]]


def test_zoo_sample_is_audited_read_only_and_offline(tmp_path):
    import importlib.util

    zoo = Path(list(importlib.util.find_spec("mmdet").submodule_search_locations)[0]) / ".mim" / "configs"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data, _ = _audit_and_prove(tmp_path, ["--jobs", "2", "--tier", "build", *[zoo / c for c in ZOO_SAMPLE]],
                               config_dir=zoo, cwd=cwd)
    assert [a["status"] for a in data["audits"]].count("completed") >= len(ZOO_SAMPLE) - 1


def test_in_process_audit_writes_nothing_next_to_configs_or_their_custom_modules(tmp_path):
    """--jobs 1 (in-process) on a config with a custom module next to it: no bytecode cache
    (__pycache__) appears next to either, nothing else is written."""
    work = tmp_path / "work"
    (work / "proj").mkdir(parents=True)
    (work / "proj" / "__init__.py").write_text("from . import neck  # noqa: F401\n")
    (work / "proj" / "neck.py").write_text(
        "from mmdet.models.necks import FPN\nfrom mmdet.registry import MODELS\n\n\n"
        "@MODELS.register_module()\nclass ReadOnlyTestFPN(FPN):\n    pass\n")
    tiny = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
    config = work / "config.py"
    config.write_text(f"_base_ = [{str(tiny)!r}]\ncustom_imports = dict(imports=['proj'], allow_failed_imports=False)\n"
                      "model = dict(neck=dict(type='ReadOnlyTestFPN'))\n")
    box = Sandbox(tmp_path / "box")
    report = tmp_path / "report.json"
    before = snapshot(work, skip=())
    env = box.env()
    env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + str(work)
    proc = subprocess.run([PY, "-m", "detaudit", "--input-size", "64x96", "--format", f"json:{report}", config],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    audit = json.loads(report.read_text())["audits"][0]
    assert audit["tiers"]["build"] == "ok", audit
    assert not changed(before, snapshot(work, skip=())), "the audit wrote next to the config or its module"
    assert not list(work.rglob("__pycache__"))
    _check_events(box, report)


def test_hook_catches_writes_and_sockets_in_exec_mode_and_no_exec_prevents_them(tmp_path):
    """Positive control, then --no-exec: the same config writes a file and opens a socket when
    executed (the hook sees both), and does neither with --no-exec, which still reports
    DA201 (missing load_from) and DA101 (lr_mult=0 without freezing)."""
    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "written-by-config.txt"
    tiny = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
    config = work / "untrusted.py"
    config.write_text(
        f"_base_ = [{str(tiny)!r}]\n"
        f"open({str(marker)!r}, 'w').write('pwned')\n"
        "try:\n    __import__('socket').create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except OSError:\n    pass\n"
        "load_from = 'work_dirs/stage1/epoch_12.pth'\n"
        "optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))\n")

    executed = Sandbox(tmp_path / "exec")
    proc = executed.run(["--tier", "static", "--format", "json", config], cwd=work)
    assert proc.returncode == 1, proc.stderr[-2000:]
    events = executed.events()
    assert marker.exists(), "positive control: the config's code did not run"
    assert any(k == "write" and d == str(marker) for k, _, d in events), "the hook missed the config's write"
    assert any(k == "net" and "127.0.0.1" in d for k, _, d in events), "the hook missed the config's socket"
    marker.unlink()

    static = Sandbox(tmp_path / "noexec")
    report = tmp_path / "noexec-report.json"
    before = snapshot(work)
    proc = static.run(["--no-exec", "--format", f"json:{report}", config], cwd=work)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert not marker.exists(), "--no-exec executed the config"
    _check_events(static, report)
    assert not changed(before, snapshot(work))
    audit = json.loads(report.read_text())["audits"][0]
    found = {f["code"] for f in audit["findings"]}
    assert {"DA201", "DA101"} <= found, found
    assert {"DA094"} <= found  # the open() and try statements it did not execute
    skipped = {s["code"]: s["reason"] for s in audit["skipped_rules"]}
    assert "--no-exec" in skipped.get("DA102", "")
    assert audit["tiers"]["build"] == "skipped"


def test_no_exec_never_copies_environment_values_into_the_report(tmp_path):
    """A config can ask mmengine to substitute an environment variable; --no-exec uses the
    default instead, so a CI secret cannot leak into a public report."""
    work = tmp_path / "work"
    work.mkdir()
    config = work / "leak.py"
    config.write_text("load_from = '{{$DETAUDIT_TEST_SECRET:missing.pth}}'\n")
    box = Sandbox(tmp_path / "box")
    env = box.env()
    env["DETAUDIT_TEST_SECRET"] = "s3cr3t-token-value"
    proc = subprocess.run([PY, "-m", "detaudit", "--no-exec", "--format", "json", str(config)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "s3cr3t-token-value" not in proc.stdout + proc.stderr
    audit = json.loads(proc.stdout)["audits"][0]
    assert any(f["code"] == "DA201" and "missing.pth" in f["message"] for f in audit["findings"])


def test_run_tier_writes_only_into_its_private_folder_and_leaves_real_data_untouched(tmp_path):
    """The run tier runs mmengine's Runner (work dir, checkpoints, logs, visualizer, evaluator files) in a
    worker under --timeout: everything goes into the private temporary folder, removed afterwards, and the
    real data it reads in place is unchanged."""
    rules = ROOT / "tests" / "fixtures" / "rules"
    work = tmp_path / "work"
    shutil.copytree(rules / "_data_", work / "_data_")
    shutil.copytree(rules / "_base_", work / "_base_")
    (work / "cfg").mkdir()
    config = work / "cfg" / "real.py"
    config.write_text("_base_ = ['../_base_/tiny_run_real.py']\n")
    data, _ = _audit_and_prove(tmp_path, ["--jobs", "2", "--timeout", "900", "--max-memory", "6G", "--tier", "run",
                                          "--data", "real",
                                          "--select", "DA7", config], config_dir=work, cwd=work / "cfg")
    (audit,) = data["audits"]
    assert audit["tiers"]["run"] == "ok", audit["findings"]
    assert {d["kind"] for d in audit["run"]["data"].values()} == {"real"}
    assert audit["run"]["checkpoints"]

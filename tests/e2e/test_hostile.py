"""Hostile and broken inputs: every one gives a report (or a one-line usage error) with the
right exit code, never a traceback, and the process goes on to audit the next config.

The corpus is ``configs/`` (committed) plus inputs made at test time that cannot live in git:
a FIFO, a symlink that points at itself, an unreadable file, a truncated checkpoint and a
checkpoint whose pickle would run code when loaded unsafely.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "hostile"
EMPTY_CKPT = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "empty_checkpoint.pth"
TINY = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
PY = sys.executable

# config -> codes its report must contain (a subset: other rules may add more)
EXPECTED = {
    "bad_load_from.py": {"DA203"},
    "barrier_in_hook.py": set(),  # these block at the run tier only (tests/e2e/test_never_hangs.py)
    "base_is_folder.py": {"DA001"},
    "base_missing.py": {"DA001"},
    "base_wrong_type.py": {"DA001"},
    "binary.py": {"DA001"},
    "changes_process.py": set(),
    "circular_a.py": {"DA001"},
    "circular_b.py": {"DA001"},
    "class_as_value.py": {"DA002"},
    "custom_imports_wrong.py": {"DA001"},
    "deep_nesting.py": {"DA001"},
    "empty.py": {"DA002"},
    "hang_in_loss.py": {"DA091"},
    "hang_in_run.py": set(),  # it hangs at the run tier only (tests/workers/test_workers.py)
    "input_in_hook.py": set(),
    "leaves_thread.py": set(),
    "loop_forever.py": {"DA001", "DA091"},
    "model_list.py": {"DA002"},
    "model_no_type.py": {"DA002"},
    "model_none.py": {"DA002"},
    "model_string.py": {"DA002"},
    "model_type_int.py": {"DA002"},
    "nan_init.py": {"DA404"},
    "non_utf8.py": {"DA001"},
    "os_exit.py": {"DA093"},
    "prints.py": set(),
    "raises.py": {"DA001"},
    "self_import.py": {"DA001"},
    "show_true.py": {"DA715"},
    "stubborn_loop.py": {"DA091"},
    "syntax_error.py": {"DA001"},
    "transform_waits.py": set(),
    "sys_exit.py": {"DA001"},
    "wrong_types.py": set(),
    "wrong_types_model.py": {"DA002"},
}
# Only a supervised worker survives these (they end, hang or block the process).
NEEDS_WORKER = {"os_exit.py", "loop_forever.py", "stubborn_loop.py", "hang_in_loss.py"}
MESSAGES = {
    "circular_a.py": "circular _base_ chain: circular_a.py -> circular_b.py -> circular_a.py",
    "self_import.py": "circular _base_ chain: self_import.py -> self_import.py",
    "raises.py": "this config refuses to load",
    "sys_exit.py": "SystemExit",
    "fifo.py": "not a regular file",
    "os_exit.py": "exit code 0",
    "stubborn_loop.py": "worker was killed",
    "hang_in_loss.py": "running the loss forward",
}


def test_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.glob("*.py")}
    assert on_disk == set(EXPECTED), on_disk ^ set(EXPECTED)
    assert len(on_disk) + len(list(CORPUS.glob("*.json"))) + len(list(CORPUS.glob("*.txt"))) + 5 >= 25


def _made_at_test_time(tmp_path: Path) -> dict[str, Path]:
    """Inputs that git cannot hold; returns name -> path."""
    made = {}
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)  # opening it for reading would block forever
    made["fifo.py"] = fifo
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(EMPTY_CKPT.read_bytes()[: EMPTY_CKPT.stat().st_size // 2])
    marker = tmp_path / "PWNED"
    malicious = tmp_path / "malicious.pth"
    malicious.write_bytes(pickle.dumps(_Payload(str(marker))))
    for name, ckpt in (("truncated_checkpoint.py", truncated), ("malicious_checkpoint.py", malicious)):
        cfg = tmp_path / name
        cfg.write_text(f"_base_ = [{str(TINY)!r}]\nload_from = {str(ckpt)!r}\n")
        made[name] = cfg
    return made


class _Payload:
    """Unpickling this with the unsafe loader would create ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _run(args, cwd, timeout=900):
    return subprocess.run([PY, "-m", "detaudit", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _check_no_traceback(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-3000:]
    assert "internal error" not in proc.stderr, proc.stderr[-3000:]


def _by_name(report) -> dict[str, dict]:
    return {Path(a["config"]).name: a for a in report["audits"]}


def test_whole_corpus_in_one_supervised_run(tmp_path):
    """Every hostile config, plus the inputs made here, in one invocation with workers: one
    report, in input order, each config with its expected findings, exit code 1."""
    made = _made_at_test_time(tmp_path)
    extras = [CORPUS / "bad_json.json", CORPUS / "wrong_suffix.txt"] + list(made.values())
    out = tmp_path / "report.json"
    # named one by one: a folder audit would skip the files that set no config names (loops, exits)
    proc = _run(["--jobs", "2", "--timeout", "10", "--max-memory", "3G", "--tier", "forward",
                 "--input-size", "64x96", "--format", f"json:{out}", *sorted(CORPUS.glob("*.py")), *extras],
                cwd=CORPUS)
    _check_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    names = [Path(a["config"]).name for a in report["audits"]]
    assert names == sorted(EXPECTED) + [p.name for p in extras]
    audits = _by_name(report)
    for name, codes in EXPECTED.items():
        found = {f["code"] for f in audits[name]["findings"]}
        assert codes <= found, f"{name}: expected {codes}, got {found}"
    for name in ("bad_json.json", "wrong_suffix.txt", "fifo.py"):
        assert "DA001" in {f["code"] for f in audits[name]["findings"]}, name
    for name in ("truncated_checkpoint.py", "malicious_checkpoint.py"):
        ckpt = next(f for f in audits[name]["findings"] if f["code"] == "DA203")
        assert "not a readable checkpoint" in ckpt["message"], ckpt["message"]
    assert not (tmp_path / "PWNED").exists(), "loading the checkpoint executed its pickle"
    for name, text in MESSAGES.items():
        messages = " | ".join(f["message"] for f in audits[name]["findings"])
        assert text in messages, f"{name}: {messages}"
    # the forward hang kept what the build found
    assert audits["hang_in_loss.py"]["tiers"]["build"] == "ok"
    assert audits["hang_in_loss.py"]["model"] is not None
    from audit_helpers import validate_report

    validate_report(report)


def test_in_process_run_survives_everything_that_does_not_kill_the_process(tmp_path):
    """Without workers (--jobs 1, no limits): configs that print, change the working
    directory, the environment or the recursion limit, raise, exit or leave threads running
    do not break the report on stdout or the configs after them."""
    names = sorted(set(EXPECTED) - NEEDS_WORKER)
    probe = tmp_path / "after.py"
    (tmp_path / "ckpt.pth").write_bytes(EMPTY_CKPT.read_bytes())
    probe.write_text(f"_base_ = [{str(TINY)!r}]\nload_from = 'ckpt.pth'\n")  # relative to the launch dir
    configs = [CORPUS / n for n in names] + [probe]
    proc = _run(["--tier", "build", "--format", "json", *configs], cwd=tmp_path)
    _check_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(proc.stdout)  # stdout holds the report only, whatever the configs printed
    audits = _by_name(report)
    assert list(audits) == names + ["after.py"]
    for name in names:
        found = {f["code"] for f in audits[name]["findings"]}
        wanted = EXPECTED[name] - {"DA404"}  # forward-tier finding, not run at --tier build
        if name == "bad_load_from.py":
            wanted = {"DA201"}  # its relative load_from resolves against this run's launch folder
        assert wanted <= found, f"{name}: expected {wanted}, got {found}"
    after = audits["after.py"]
    assert "DA201" not in {f["code"] for f in after["findings"]}, "the working directory leaked from a config"
    assert after["tiers"]["static"] == after["tiers"]["build"] == "ok", after["tiers"]
    assert "garbage on stdout" in proc.stderr and "left 1 thread(s) running" in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["no_such_config.py"], "config not found"),
    (["--input-size", "99999x99999", "empty.py"], "out of range"),
    (["--input-size", "big", "empty.py"], "expected HxW"),
    (["--tier", "deepest", "empty.py"], "invalid choice"),
    (["--no-such-option", "empty.py"], "unrecognized arguments"),
])
def test_misuse_is_one_line_and_exit_2(args, needle):
    proc = _run(args, cwd=CORPUS, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("detaudit: error:") and needle in lines[0], proc.stderr
    assert proc.stdout == ""


def test_folder_and_link_misuse(tmp_path):
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    loop = tmp_path / "loop.py"
    loop.symlink_to(loop)  # resolving it loops
    for target, needle in ((empty, "no config files"), (loop, "config not found")):
        proc = _run([target], cwd=tmp_path, timeout=120)
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_unreadable_config(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root from reading (chmod 000 is moot); "
                    "the FIFO and folder cases cover inputs that cannot be read as a file")
    config = tmp_path / "secret.py"
    config.write_text("model = dict(type='FasterRCNN')\n")
    config.chmod(0)
    try:
        proc = _run(["--tier", "static", "--format", "json", config], cwd=tmp_path, timeout=300)
    finally:
        config.chmod(0o644)
    _check_no_traceback(proc)
    assert proc.returncode == 1
    finding = json.loads(proc.stdout)["audits"][0]["findings"][0]
    assert finding["code"] == "DA001" and "Permission" in finding["message"]


def test_enormous_input_within_a_memory_cap(tmp_path):
    """--input-size at the top of its range on a memory cap: the forward fails inside the
    audit with DA092 naming the limit; the build's findings stay."""
    proc = _run(["--max-memory", "1G", "--tier", "forward", "--input-size", "4096x4096", "--format", "json",
                 "--select", "DA092,DA106", CORPUS / "prints.py"], cwd=CORPUS)
    _check_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr[-2000:]
    audit = json.loads(proc.stdout)["audits"][0]
    memory = next(f for f in audit["findings"] if f["code"] == "DA092")
    assert "--max-memory limit of 1.0 GiB" in memory["message"]
    assert "DA106" in {f["code"] for f in audit["findings"]} and audit["tiers"]["build"] == "ok", audit["findings"]


def test_no_exec_reads_the_whole_corpus_without_running_any_of_it(tmp_path):
    """--no-exec in one in-process run: the configs that exit, loop or hang are only read, so
    no worker is needed; code that would run is reported as DA094, broken files as DA001."""
    proc = _run(["--no-exec", "--format", "json", *sorted(CORPUS.glob("*.py")), CORPUS / "bad_json.json"],
                cwd=CORPUS, timeout=300)
    _check_no_traceback(proc)
    assert proc.returncode == 1
    audits = _by_name(json.loads(proc.stdout))
    assert list(audits) == sorted(EXPECTED) + ["bad_json.json"]
    for name in ("os_exit.py", "loop_forever.py", "stubborn_loop.py", "raises.py", "sys_exit.py"):
        assert "DA094" in {f["code"] for f in audits[name]["findings"]}, name
    for name in ("binary.py", "non_utf8.py", "syntax_error.py", "circular_a.py", "self_import.py", "bad_json.json"):
        assert audits[name]["status"] == "failed" and "DA001" in {f["code"] for f in audits[name]["findings"]}

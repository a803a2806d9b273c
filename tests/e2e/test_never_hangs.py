"""An audit never hangs on a call that waits for a person or a peer: the hostile corpus's blocking
configs, audited at the run tier without --timeout, each give their finding (DA095, DA715) at the
key that asked for it, within seconds; and one config that hangs in a way nobody anticipated is
stopped at its time bound (DA091) without holding the others."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "hostile"
TINY = ROOT / "tests" / "fixtures" / "rules" / "_base_" / "tiny_frcnn.py"
PY = sys.executable

# config -> (key of the DA095 finding, what was called, a word of its message)
BLOCKING = {
    "show_true.py": ("default_hooks.visualization", "DetLocalVisualizer.show(wait_time=0)", "display"),
    "input_in_hook.py": ("custom_hooks.0", "input('start training? [y/N] ')", "before_train"),
    "transform_waits.py": ("train_dataloader.dataset.pipeline.2", "time.sleep(0.5)", "HostileWaitingTransform"),
    "barrier_in_hook.py": ("custom_hooks.0", "threading.Barrier(parties=2).wait()", "before_train_epoch"),
}


def test_each_blocking_kind_gives_its_finding_at_the_run_tier(tmp_path):
    """One invocation, in the CLI's own process (no --timeout, no workers): every blocking call returns
    at once and is reported at its key; nothing waits for the tier's time bound."""
    configs = [CORPUS / name for name in BLOCKING]
    start = time.monotonic()
    proc = subprocess.run([PY, "-m", "detaudit", "--tier", "run", "--select", "DA095", "--input-size", "64x96",
                           "--no-cache", "--format", "json", *map(str, configs)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    audits = {Path(a["config"]).name: a for a in json.loads(proc.stdout)["audits"]}
    for name, (key, call, word) in BLOCKING.items():
        audit = audits[name]
        hits = [f for f in audit["findings"] if f["code"] == "DA095"]
        assert [f["key_path"] for f in hits] == [key], (name, hits)
        (hit,) = hits
        assert hit["evidence"]["call"] == call, hit
        assert word in hit["message"], hit["message"]
        assert audit["tiers"]["run"] in ("ok", "failed"), audit["tiers"]
        assert audit["timings_s"]["total"] < 120, audit["timings_s"]  # never the run tier's 1800 s bound
        assert not [f for f in audit["findings"] if f["code"] == "DA091"]
    # the hook's show is located at the config line that set it
    show = next(f for f in audits["show_true.py"]["findings"] if f["code"] == "DA095")
    assert show["location"]["line"] == 5 and show["location"]["file"].endswith("show_true.py"), show["location"]
    assert elapsed < 400


def test_show_true_is_found_without_running_anything(tmp_path):
    """DA715 reads the config: --tier static finds the hook that would wait for its window."""
    from detaudit import audit

    result = audit(str(CORPUS / "show_true.py"), tier="static", select=["DA715", "DA095"]).audits[0]
    (hit,) = [f for f in result.findings if f.code == "DA715"]
    assert hit.key_path == "default_hooks.visualization.show" and hit.location.line == 5
    assert "without a display" in hit.message and "wait_time" in hit.fix
    assert not [f for f in result.findings if f.code == "DA095"]


def test_ten_configs_one_hangs_ten_reports(tmp_path, monkeypatch):
    """A folder of ten configs, one of which loops forever while loading: with the tier's default
    time bound (lowered here to keep the test short) the invocation returns ten reports, the
    hanging one with DA091 naming where it was stopped."""
    from detaudit import cli
    from detaudit.facts import deadline

    monkeypatch.setitem(deadline.DEFAULT_BOUNDS, "static", 3.0)
    monkeypatch.setenv("DETAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "configs"
    folder.mkdir()
    for i in range(10):
        body = f"_base_ = [{str(TINY)!r}]\n"
        if i == 6:
            body += "model = dict(type='FasterRCNN')\nwhile True:\n    pass\n"
        (folder / f"c{i}.py").write_text(body)
    out = tmp_path / "report.json"
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    code = cli.main(["--tier", "static", "--no-cache", "--format", f"json:{out}", str(folder)])
    assert time.monotonic() - start < 120
    assert code == 1
    report = json.loads(out.read_text())
    assert [Path(a["config"]).name for a in report["audits"]] == [f"c{i}.py" for i in range(10)]
    hung = report["audits"][6]
    (stop,) = [f for f in hung["findings"] if f["code"] == "DA091"]
    assert "the static tier's time bound of 3 s" in stop["message"] and "loading the config" in stop["message"]
    assert "c6.py" in stop["message"], stop["message"]  # the code it was stopped in
    assert all(not [f for f in a["findings"] if f["code"] == "DA091"] for i, a in enumerate(report["audits"])
               if i != 6)


@pytest.mark.parametrize("value,expected", [(None, 60.0), (0, None), (5, 5.0)])
def test_time_bound_per_tier_and_override(value, expected):
    from detaudit.facts.deadline import DEFAULT_BOUNDS, bound_for

    assert bound_for(value, "static") == expected
    assert DEFAULT_BOUNDS["static"] < DEFAULT_BOUNDS["build"] <= DEFAULT_BOUNDS["forward"] < DEFAULT_BOUNDS["run"]


def test_timeout_zero_is_no_bound_and_stays_in_process():
    from detaudit.faces.cli.check import parser as _check_parser
    from detaudit.options import AuditOptions

    args = _check_parser().parse_args(["x.py", "--timeout", "0"])
    assert args.timeout == 0 and not AuditOptions(timeout=args.timeout).needs_worker
    assert AuditOptions(timeout=5).needs_worker and not AuditOptions().needs_worker

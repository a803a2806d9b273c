"""The run's child process: a value comes back, an exception comes back as an error, a crash in
compiled code comes back as where it happened, and the child never outlives a wait cut short."""
from __future__ import annotations

import os
import signal
import time

import pytest

from detaudit.facts.run.child import Crash, RaisedInChild, in_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the run forks only where the platform does")


def _segfault():
    import ctypes

    ctypes.string_at(0)


def test_a_value_comes_back():
    from detaudit.facts.run.runner import RunResult

    result = RunResult(stages={"run": "ok"}, checkpoints=["epoch_1.pth"])
    back = in_child(lambda: (os.getpid(), result))
    assert back[0] != os.getpid()
    assert back[1].stages == {"run": "ok"} and back[1].checkpoints == ["epoch_1.pth"]


def test_an_exception_comes_back_as_its_error():
    def work():
        raise ValueError("no such metric: bbox_mAP")

    with pytest.raises(RaisedInChild) as raised:
        in_child(work)
    assert raised.value.info.type == "ValueError"
    assert "no such metric: bbox_mAP" in raised.value.info.message


def test_a_segfault_comes_back_as_a_crash_with_its_stack():
    crash = in_child(_segfault)
    assert isinstance(crash, Crash)
    assert crash.how == "SIGSEGV"
    assert crash.site()[2] == "string_at"
    assert crash.called("_segfault")


def test_a_wait_cut_short_kills_the_child(tmp_path):
    """--timeout's alarm (or Ctrl-C) arrives in the audit while the run's child works: the child dies too."""
    pid_file = tmp_path / "pid"

    def work():
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    class Stop(Exception):
        pass

    def on_alarm(signum, frame):
        raise Stop()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.5)
    try:
        with pytest.raises(Stop):
            in_child(work)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _crash_result(frames):
    from detaudit.facts.run.runner import _crashed

    return _crashed(Crash("SIGSEGV", frames)).failures[0]


def test_a_crash_in_installed_code_only_is_not_the_configs():
    """mmdet's model calling mmcv's op, which crashes on this CPU: nothing in the config to edit."""
    import mmcv
    import mmengine

    from detaudit.errors import not_the_models_fault

    mmcv_ops = os.path.join(os.path.dirname(mmcv.__file__), "ops", "deform_conv.py")
    loops = os.path.join(os.path.dirname(mmengine.__file__), "runner", "loops.py")
    import detaudit.facts.run.runner as runner

    # below the run: the audit's own frames, then the rule that asked for the run (a project folder)
    failure = _crash_result([(mmcv_ops, 163, "backward"), (loops, 131, "run_iter"),
                             (os.path.join(os.path.dirname(mmengine.__file__), "model", "base_model", "base_model.py"),
                              116, "train_step"), (runner.__file__, 266, "_train_val_test"),
                             ("/somewhere/rules/da700_run_failed.py", 33, "run_failed")])
    assert failure.component == "iteration" and failure.stage == "train"
    assert "mmcv/ops/deform_conv.py:163 in backward" in failure.error.message
    reason = not_the_models_fault(failure.error)
    assert reason and "nothing in the config to edit" in reason
    assert "run_failed" not in failure.error.message and len(failure.detail["stack"]) == 3


def test_a_crash_with_the_projects_code_on_the_stack_is_a_finding(tmp_path):
    import mmengine

    from detaudit.errors import not_the_models_fault

    hook = str(tmp_path / "my_hooks.py")
    loops = os.path.join(os.path.dirname(mmengine.__file__), "runner", "loops.py")
    failure = _crash_result([(os.path.join(os.path.dirname(os.__file__), "ctypes", "__init__.py"), 519, "string_at"),
                             (hook, 12, "after_train_iter"), (loops, 134, "run_iter")])
    assert failure.component == "run"
    assert not_the_models_fault(failure.error) is None
    assert failure.error.file == hook and failure.error.line == 12
    assert "my_hooks.py:12 in after_train_iter" in failure.error.message


def test_the_run_may_start_processes_even_from_a_daemon_worker():
    """Audit workers are daemon processes, which multiprocessing forbids to start children; the run's
    process is the audit's own, and an evaluator's pool (use_mp_eval) starts in it as in training."""
    import multiprocessing

    def work():
        with multiprocessing.get_context("fork").Pool(2) as pool:
            return pool.map(abs, [-1, -2])

    config = multiprocessing.current_process()._config
    was = config.get("daemon")
    config["daemon"] = True  # as in a worker
    try:
        assert in_child(work) == [1, 2]
    finally:
        if was is None:
            config.pop("daemon", None)
        else:
            config["daemon"] = was


def test_a_child_can_stop_opencv_threads_the_audit_started():
    """A child forked while OpenCV's worker threads exist inherits their pool, its condition
    variables still counting them as waiters: the first call that stops the pool in the child
    (the Runner's ``cv2.setNumThreads``, or giving the count back after the run) waited for good.
    In a fresh interpreter (bounded, so that a regression fails instead of hanging the suite)."""
    import subprocess
    import sys

    code = """
import cv2, numpy as np
from detaudit.facts.run.child import in_child
cv2.setNumThreads(3)
cv2.GaussianBlur(np.zeros((1500, 1500), np.float32), (31, 31), 0)  # the pool's threads start
def work():
    cv2.setNumThreads(0)
    cv2.setNumThreads(1)  # stops the pool: waits on its waiters
    return cv2.getNumThreads()
print(in_child(work), cv2.getNumThreads())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "3"]  # the child's last count, the audit's count given back

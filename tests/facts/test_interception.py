"""The interception of blocking calls (detaudit/facts/blocking.py) on its own: each kind returns at once
inside, is recorded once per site with the caller's frame and the key an attributor names, and
everything is given back after."""
from __future__ import annotations

import builtins
import sys
import threading
import time

import pytest

from detaudit.facts import blocking
from detaudit.facts.blocking import BlockingCallStopped, intercepted


def test_each_kind_returns_at_once_and_is_recorded_at_its_caller(monkeypatch):
    monkeypatch.setattr(blocking, "SLEEP_BUDGET", 0.2)
    monkeypatch.setattr(blocking, "BARRIER_WAIT", 0.1)
    before = (builtins.input, sys.stdin, time.sleep, threading.Barrier.wait)
    start = time.monotonic()
    with intercepted() as recorder:
        assert input("name? ") == ""
        assert sys.stdin.readline() == "" and sys.stdin.buffer.read() == b"" and list(sys.stdin) == []
        assert threading.Barrier(2).wait() == 0
        with pytest.raises(BlockingCallStopped):
            while True:
                time.sleep(0.05)
        import cv2

        assert cv2.waitKey(0) == -1
        for _ in range(3):
            input()  # the same site: one record, counted
    assert time.monotonic() - start < 30
    assert (builtins.input, sys.stdin, time.sleep, threading.Barrier.wait) == before
    kinds = [(c.kind, c.call) for c in recorder.calls]
    assert kinds == [("input", "input('name? ')"), ("stdin", "sys.stdin.readline()"), ("stdin", "sys.stdin.read()"),
                     ("stdin", "sys.stdin.__next__()"), ("barrier", "threading.Barrier(parties=2).wait()"),
                     ("sleep", "time.sleep(0.05)"), ("key wait", "cv2.waitKey"), ("input", "input()")]
    assert recorder.calls[-1].count == 3
    here = recorder.calls[0].frames[0]
    assert here[0] == __file__ and here[2] == "test_each_kind_returns_at_once_and_is_recorded_at_its_caller"
    import cv2

    assert cv2.waitKey.__module__ != blocking.__name__  # given back


def test_an_attributor_names_the_key_and_other_threads_sleep_as_asked(monkeypatch):
    monkeypatch.setattr(blocking, "SLEEP_BUDGET", 0.0)

    class Hook:
        def before_train(self):
            return input()

    hook = Hook()

    def attribute(frames):
        for frame in frames:
            if frame.f_locals.get("self") is hook:
                return {"key": "custom_hooks.0", "component": "hook", "stage": "train",
                        "detail": {"hook": "Hook", "stage": frame.f_code.co_name}}
        return None

    slept = []
    with intercepted() as recorder, recorder.attributing(attribute):
        hook.before_train()
        worker = threading.Thread(target=lambda: slept.append(time.sleep(0.01) is None))
        worker.start()
        worker.join()
    (call,) = recorder.calls
    assert (call.key, call.component, call.detail["stage"]) == ("custom_hooks.0", "hook", "before_train")
    assert slept == [True]  # not the audit's thread: its sleep is its own


def test_nested_use_shares_the_recorder():
    with intercepted() as outer, intercepted() as inner:
        assert inner is outer
        input()
    assert len(outer.calls) == 1 and builtins.input.__module__ == "builtins"

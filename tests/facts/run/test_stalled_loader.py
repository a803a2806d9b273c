"""A loader that never yields a batch stops the run at its stall bound (detaudit/facts/run/watch.py),
with the failure placed on the loader's sampler, instead of running until the tier's time bound."""
from __future__ import annotations

import os
import time

import pytest

from audit_helpers import ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the run forks only where the platform does")
FIXTURE = ROOT / "tests" / "fixtures" / "run_stall" / "stalled_sampler.py"


def test_a_sampler_that_never_yields_stops_the_run_at_the_stall_bound(monkeypatch):
    from detaudit.facts.run import watch
    from detaudit.faces.api import audit

    monkeypatch.setattr(watch, "STALL_SECONDS", 3.0)  # the run's child is forked from here and keeps it
    monkeypatch.chdir(FIXTURE.parent)
    monkeypatch.syspath_prepend(str(FIXTURE.parent))
    start = time.monotonic()
    result = audit(str(FIXTURE), tier="run", input_size=(64, 96), select=["DA7"]).audits[0]
    assert time.monotonic() - start < 240
    stalled = [f for f in result.findings if "no training batch came within 3 s" in f.message]
    assert stalled, [(f.code, f.message) for f in result.findings]
    assert stalled[0].key_path.startswith("train_dataloader"), stalled[0].key_path

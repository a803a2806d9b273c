"""The run tier's part in intercepting blocking calls (:mod:`detaudit.facts.blocking`): each call
the Runner's components make is attributed to the config key of the component (a hook, a
transform, the model...) while the run runs, and the calls made in the run's own process are
brought back to the audit's recorder."""
from __future__ import annotations

import contextlib

STOPPED = "BlockingCallStopped"


@contextlib.contextmanager
def attributed(runner, cfg, index, watch, module_names, stage: str = "train"):
    """While the Runner runs: a blocking call (or a stop at the time bound) is attributed to the
    component on the stack, at the stage the run is in (``watch.stage``, else ``stage``)."""
    from ..blocking import active
    from .attribution import locate_frames

    recorder = active()
    if recorder is None:
        yield
        return

    def attribute(frames):
        return locate_frames(frames, watch.stage if watch is not None else stage, index, module_names, runner, cfg)

    with recorder.attributing(attribute):
        yield


def adopt_run(result):
    """The blocking calls of a run (made in its own process) join the audit's; a failure that only
    says a blocking call was stopped is that call's finding (DA095), not a failure of the run."""
    from ..blocking import active

    recorder = active()
    if recorder is not None and getattr(result, "blocking", None):
        recorder.adopt(result.blocking)
    if getattr(result, "failures", None):
        result.failures = [f for f in result.failures if f.error.type != STOPPED]
    return result

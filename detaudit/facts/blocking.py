"""Blocking and interactive calls, intercepted while audited code runs.

An audit runs the config's code on a machine that nobody watches: a visualizer that shows an
image and waits for its window to close (``DetVisualizationHook(show=True)``, whose default
``wait_time=0`` means "forever"), an OpenCV window and its key wait, ``input()``, a barrier or a
process group that waits for peers that will never come, a loop sleeping until a file appears.
Each would hold the audit forever, as it holds a training job on a machine without a display.

While :func:`intercepted` is active (the whole audit of a config, the run tier's child
included), each of those calls returns at once (or, for the calls that cannot return something
harmless, raises :class:`BlockingCallStopped` at the caller's site) and is recorded as a
:class:`BlockingCall`: what was called, the frames above it, and the config key that asked for
it, when an *attributor* can tell (the run tier's: the hook by its key in ``default_hooks`` or
``custom_hooks``, the transform by its pipeline step; the model by its module).

- ``input()``, ``getpass.getpass()`` and reads from ``sys.stdin`` see end of input;
- ``cv2.imshow/namedWindow/waitKey`` and matplotlib's ``show/pause/waitforbuttonpress`` and event
  loops return at once (matplotlib is given the Agg backend for newly made figures);
- ``mmengine.visualization.Visualizer.show`` (and a subclass's own ``show``) returns at once;
- ``threading.Barrier.wait`` waits at most :data:`BARRIER_WAIT` seconds for its parties;
- ``torch.distributed.init_process_group`` for more than one process raises instead of waiting
  for the others;
- ``time.sleep`` in the audit's thread sleeps for real until :data:`SLEEP_BUDGET` seconds are
  spent in total, then raises: a loop waiting for something that will not come.

Calls in other threads (the audit's own watchers, the user's training threads) are left alone,
except the barrier's.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib.abc
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

SLEEP_BUDGET = 3.0   # seconds audited code may sleep in total, per audit, before sleeping is a blocking call
BARRIER_WAIT = 1.0   # seconds a barrier waits for its parties before it is a barrier that never forms
MAX_FRAMES = 60

real_sleep = time.sleep  # the audit's own waits, never counted


class BlockingCallStopped(RuntimeError):
    """A blocking call that could not return something harmless, raised at the caller's site."""


@dataclass
class BlockingCall:
    """One blocking or interactive call audited code made (the same call at the same site counts once)."""

    kind: str                      # show, window, key wait, input, stdin, barrier, process group, sleep, pause
    call: str                      # what was called, with the argument that made it block
    frames: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, function), innermost first
    key: str | None = None         # the config key that asked for it, when known
    component: str | None = None   # hook, pipeline, model, visualizer...
    stage: str | None = None       # train, val, test (the run), or the audit's step
    detail: dict = field(default_factory=dict)
    count: int = 1

    def dedupe_key(self) -> tuple:
        return (self.kind, self.call, self.frames[0] if self.frames else None, self.key)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "call": self.call, "key": self.key, "component": self.component,
                "stage": self.stage, "count": self.count, "detail": dict(self.detail),
                "site": [f"{f}:{line} in {fn}" for f, line, fn in self.frames[:8]]}


Attributor = Callable[[list], "dict | None"]  # frames (innermost first) -> {"key", "component", "stage", "detail"}


class Recorder:
    """The blocking calls of one audit, and who can tell which config key made them."""

    def __init__(self):
        self.calls: list[BlockingCall] = []
        self.slept = 0.0
        self.thread = threading.get_ident()
        self.attributors: list[Attributor] = []
        self._seen: dict[tuple, BlockingCall] = {}

    def record(self, kind: str, call: str, *, depth: int = 2, **detail) -> BlockingCall:
        """Note a blocking call made ``depth`` frames above this one."""
        try:
            frame = sys._getframe(depth)
        except ValueError:
            frame = None
        objects = []
        while frame is not None and len(objects) < MAX_FRAMES:
            objects.append(frame)
            frame = frame.f_back
        frames = [(f.f_code.co_filename, f.f_lineno, f.f_code.co_name) for f in objects if not _ours(f)]
        entry = BlockingCall(kind, call, frames, detail=detail)
        for attributor in reversed(self.attributors):
            try:
                where = attributor(objects)
            except Exception:  # noqa: BLE001 - attribution is a help, never a failure
                where = None
            if where:
                entry.key = where.get("key")
                entry.component = where.get("component")
                entry.stage = where.get("stage")
                entry.detail.update(where.get("detail") or {})
                break
        known = self._seen.get(entry.dedupe_key())
        if known is not None:
            known.count += 1
            return known
        self._seen[entry.dedupe_key()] = entry
        self.calls.append(entry)
        return entry

    def adopt(self, calls) -> None:
        """Calls recorded in another process (the run tier's child)."""
        for call in calls or ():
            if any(call is c for c in self.calls):
                continue
            known = self._seen.get(call.dedupe_key())
            if known is not None:
                known.count = max(known.count, call.count)
                continue
            self._seen[call.dedupe_key()] = call
            self.calls.append(call)

    @contextlib.contextmanager
    def attributing(self, attributor: Attributor):
        self.attributors.append(attributor)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                self.attributors.remove(attributor)


def where(frame) -> dict:
    """Where code running at ``frame`` is, for a report of an audit stopped there: the config key,
    component and stage the active recorder's attributors name, and the frames (innermost first)."""
    objects = []
    while frame is not None and len(objects) < MAX_FRAMES:
        objects.append(frame)
        frame = frame.f_back
    out: dict = {"frames": [(f.f_code.co_filename, f.f_lineno, f.f_code.co_name) for f in objects if not _ours(f)]}
    recorder = _active
    for attributor in reversed(recorder.attributors if recorder is not None else []):
        try:
            found = attributor(objects)
        except Exception:  # noqa: BLE001 - attribution is a help, never a failure
            found = None
        if found:
            out.update({k: v for k, v in found.items() if v})
            break
    return out


def model_attributor(ctx) -> Attributor:
    """Outside the run: code of the model's modules, by the deepest module on the stack."""

    def attribute(frames):
        if not ctx.has("model"):
            return None
        names = {id(m): n for n, m in ctx.model.named_modules()}
        for frame in frames:
            owner = frame.f_locals.get("self")
            if owner is not None and id(owner) in names:
                return {"key": "model", "component": "model",
                        "detail": {"module": names[id(owner)] or type(owner).__name__}}
        return None

    return attribute


_active: Recorder | None = None
_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # detaudit's own code


def _ours(frame) -> bool:
    """A frame of the audit itself (not shown as a call site; the attributors still see it)."""
    return frame.f_code.co_filename.startswith(_OWN)


def active() -> Recorder | None:
    """The recorder of the audit running in this process, if any."""
    return _active


@contextlib.contextmanager
def intercepted(recorder: Recorder | None = None):
    """Intercept blocking calls while audited code runs; yields the :class:`Recorder`. Nested use
    yields the recorder already active."""
    global _active
    if _active is not None:
        yield _active
        return
    recorder = recorder or Recorder()
    patches = _Patches(recorder)
    _active = recorder
    try:
        patches.apply()
        yield recorder
    finally:
        patches.restore()
        _active = None


# ---------------------------------------------------------------------------- the patches
class _Patches:
    """Attributes replaced while active, restored after; modules imported meanwhile are patched on import."""

    def __init__(self, recorder: Recorder):
        self.r = recorder
        self.saved: list[tuple[Any, str, Any, bool]] = []  # (owner, name, original, had it)
        self.originals: dict[int, Any] = {}  # id(stand-in) -> what it stands for
        self.finder = _PatchOnImport(self)
        self.stdin = None
        self.backend = None

    def set(self, owner, name: str, value) -> None:
        had = name in vars(owner) if isinstance(owner, type) else hasattr(owner, name)
        current = getattr(owner, name, None)
        # a module that copies a patched module's names (OpenCV's package from its native module)
        # gets the real function back, not our stand-in
        original = self.originals.get(id(current), current)
        self.originals[id(value)] = original
        self.saved.append((owner, name, original, had))
        setattr(owner, name, value)

    def apply(self) -> None:
        r = self.r
        self.set(builtins, "input", _input(r))
        self.stdin = sys.stdin
        sys.stdin = _EndOfInput(r, self.stdin)
        self.set(time, "sleep", _sleep(r))
        self.set(threading.Barrier, "wait", _barrier_wait(r, threading.Barrier.wait))
        self.backend = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "Agg"
        for name, patch in PATCH_ON_IMPORT.items():
            if name in sys.modules:
                patch(self, sys.modules[name])
        sys.meta_path.insert(0, self.finder)

    def restore(self) -> None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self.finder)
        for owner, name, original, had in reversed(self.saved):
            with contextlib.suppress(Exception):
                if had:
                    setattr(owner, name, original)
                else:
                    delattr(owner, name)
        self.saved.clear()
        if isinstance(sys.stdin, _EndOfInput):
            sys.stdin = self.stdin
        if self.backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = self.backend


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches the modules of :data:`PATCH_ON_IMPORT` that audited code imports while active."""

    def __init__(self, patches: _Patches):
        self.patches = patches
        self.busy = False

    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCH_ON_IMPORT or self.busy:
            return None
        self.busy = True
        try:
            spec = next((s for s in (getattr(f, "find_spec", lambda *a: None)(fullname, path, target)
                                     for f in sys.meta_path if f is not self) if s is not None), None)
        finally:
            self.busy = False
        loader = getattr(spec, "loader", None) if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(loader, self.patches, fullname)
        return spec


class _PatchingLoader:
    """The module's own loader, patching the module once it has run; everything else is the loader's."""

    def __init__(self, loader, patches: _Patches, name: str):
        self._loader, self._patches, self._name = loader, patches, name

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        with contextlib.suppress(Exception):
            PATCH_ON_IMPORT[self._name](self._patches, module)


def _input(r: Recorder):
    def input(prompt=""):  # noqa: A001 - stands for the builtin
        r.record("input", f"input({str(prompt)[:60]!r})" if prompt else "input()")
        return ""

    return input


class _EndOfInput:
    """``sys.stdin`` while audited code runs: at end of input at once; each read is recorded."""

    encoding = "utf-8"
    errors = "strict"
    closed = False

    def __init__(self, r: Recorder, original, binary: bool = False):
        self._r, self._original, self._binary = r, original, binary
        self.buffer = self if binary else _EndOfInput(r, original, binary=True)

    def _read(self, what: str):
        self._r.record("stdin", f"sys.stdin.{what}()", depth=3)
        return b"" if self._binary else ""

    def read(self, *args):
        return self._read("read")

    def readline(self, *args):
        return self._read("readline")

    def readlines(self, *args):
        self._read("readlines")
        return []

    def __iter__(self):
        return self

    def __next__(self):
        self._read("__next__")
        raise StopIteration

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        import io

        raise io.UnsupportedOperation("detaudit: standard input is closed while auditing")

    def close(self) -> None:
        pass


def _sleep(r: Recorder):
    original = time.sleep

    def sleep(seconds):
        if threading.get_ident() != r.thread:
            return original(seconds)
        left = SLEEP_BUDGET - r.slept
        if seconds <= left:
            r.slept += max(0.0, float(seconds))
            return original(seconds)
        if left > 0:
            r.slept = SLEEP_BUDGET
            original(left)
        r.record("sleep", f"time.sleep({seconds:g})", budget_s=SLEEP_BUDGET)
        raise BlockingCallStopped(f"detaudit: audited code slept past {SLEEP_BUDGET:g} s in total "
                                  f"(time.sleep({seconds:g})): a loop waiting for something that will not come")

    return sleep


def _barrier_wait(r: Recorder, original):
    def wait(self, timeout=None):
        bound = BARRIER_WAIT if timeout is None else min(float(timeout), BARRIER_WAIT)
        try:
            return original(self, bound)
        except threading.BrokenBarrierError:
            if timeout is not None and timeout <= BARRIER_WAIT:
                raise  # the caller's own timeout, as it asked
            r.record("barrier", f"threading.Barrier(parties={self.parties}).wait()", parties=self.parties)
            with contextlib.suppress(Exception):
                self.reset()
            return 0

    return wait


def _recorded(r: Recorder, kind: str, call: str, value=None):
    def stand_in(*args, **kwargs):
        r.record(kind, call)
        return value

    return stand_in


def _patch_cv2(p: _Patches, cv2) -> None:
    r = p.r
    for name, kind, value in (("imshow", "window", None), ("namedWindow", "window", None),
                              ("setWindowTitle", "window", None), ("waitKey", "key wait", -1),
                              ("waitKeyEx", "key wait", -1), ("pollKey", "key wait", -1),
                              ("selectROI", "window", (0, 0, 0, 0))):
        if hasattr(cv2, name):
            p.set(cv2, name, _recorded(r, kind, f"cv2.{name}", value))


def _patch_pyplot(p: _Patches, plt) -> None:
    r = p.r
    for name, value in (("show", None), ("pause", None), ("waitforbuttonpress", None), ("ginput", [])):
        if hasattr(plt, name):
            p.set(plt, name, _recorded(r, "show" if name == "show" else "pause", f"matplotlib.pyplot.{name}", value))


def _patch_backend_bases(p: _Patches, module) -> None:
    canvas = getattr(module, "FigureCanvasBase", None)
    if canvas is not None:
        r = p.r

        def start_event_loop(self, timeout=0):
            r.record("pause", f"FigureCanvas.start_event_loop(timeout={timeout})", depth=2)

        p.set(canvas, "start_event_loop", start_event_loop)


def _patch_visualizer(p: _Patches, module) -> None:
    base = getattr(module, "Visualizer", None)
    if base is None:
        return
    r = p.r

    def show(self, drawn_img=None, win_name="image", wait_time=0.0, *args, **kwargs):
        forever = not wait_time
        r.record("show", f"{type(self).__name__}.show(wait_time={wait_time:g})", wait_time=wait_time,
                 waits_forever=forever)

    classes, todo = [], [base]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo.extend(cls.__subclasses__())
    for cls in classes:
        if "show" in vars(cls):
            p.set(cls, "show", show)


def _patch_distributed(p: _Patches, dist) -> None:
    original = getattr(dist, "init_process_group", None)
    if original is None:
        return
    r = p.r

    def init_process_group(*args, **kwargs):
        world = kwargs.get("world_size", args[4] if len(args) > 4 else -1)
        if world == 1:
            return original(*args, **kwargs)
        r.record("process group", f"torch.distributed.init_process_group(world_size={world})", world_size=world)
        raise BlockingCallStopped("detaudit: a process group for more than one process would wait for its peers")

    p.set(dist, "init_process_group", init_process_group)


def _patch_getpass(p: _Patches, module) -> None:
    p.set(module, "getpass", _recorded(p.r, "input", "getpass.getpass()", ""))


def _patch_signal(p: _Patches, module) -> None:
    if hasattr(module, "pause"):
        p.set(module, "pause", _recorded(p.r, "pause", "signal.pause()"))


PATCH_ON_IMPORT: dict[str, Callable[[_Patches, Any], None]] = {
    "cv2": _patch_cv2,
    "matplotlib.pyplot": _patch_pyplot,
    "matplotlib.backend_bases": _patch_backend_bases,
    "mmengine.visualization.visualizer": _patch_visualizer,
    "torch.distributed": _patch_distributed,
    "getpass": _patch_getpass,
    "signal": _patch_signal,
}

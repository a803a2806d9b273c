"""What audited code may not do while the audit runs it, and the guards that make sure.

A config is a program and its custom modules are code: building, predicting and training
run them in the auditor's process. The audit is read-only and offline, and its output is the
report, so while audited code runs:

- no download: outgoing connections are refused (:func:`no_network`);
- no noise: warnings and mmengine's logger are silenced (:func:`quiet`), and anything printed
  goes to stderr, never into a report written to stdout (:func:`process_state_kept`, which
  also restores the working directory, environment, signal handlers and recursion limit a
  config may change, and keeps Python from writing bytecode next to audited files);
- under ``--no-exec``, no module next to the audited config may be imported at all
  (:class:`refuse_local_imports`);
- no write to the user's home: library caches go to a private temporary folder for the whole
  run (:func:`private_library_caches`). Importing mmengine imports yapf, which writes a
  pickled grammar to ``~/.cache/YAPF``; mmdet's models import matplotlib, which writes a
  font list to ``~/.cache/matplotlib``; torch's optimizer step creates
  ``$TMPDIR/torchinductor_<user>``. ``TORCH_HOME`` and ``MMENGINE_HOME`` stay pinned to the
  folders they meant before, so pretrained weights are still looked up in the user's caches.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def quiet():
    """Silence warnings and mmengine's logger while audited code runs: the report is the output."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from mmengine.logging import MMLogger

            logger = MMLogger.get_current_instance()
            old = logger.level
            # restored after: inside a training (DetAuditHook) this is the run's own logger
            old_handlers = [(h, h.level) for h in logger.handlers]
            logger.setLevel(logging.ERROR)
            for h in logger.handlers:
                h.setLevel(logging.ERROR)
        except Exception:  # noqa: BLE001 - mmengine absent: nothing to silence
            logger = None
        try:
            yield
        finally:
            if logger is not None:
                logger.setLevel(old)
                for h, level in old_handlers:
                    h.setLevel(level)


class NetworkBlocked(OSError):
    pass


@contextlib.contextmanager
def no_network():
    """Refuse outgoing connections while audited code runs: detaudit never downloads."""
    import socket

    original_connect = socket.socket.connect
    original_create = socket.create_connection

    def refuse(*args, **kwargs):
        raise NetworkBlocked("detaudit blocks network access while auditing (a download was attempted)")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect = original_connect
        socket.create_connection = original_create


@contextlib.contextmanager
def process_state_kept():
    """Audited code runs in this process: undo what a config may change for the next one
    (working directory, standard streams, environment), and keep Python from writing
    bytecode caches next to audited configs and their custom modules."""
    import os
    import sys

    import signal

    cwd = os.getcwd()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    environ = dict(os.environ)
    bytecode = sys.dont_write_bytecode
    recursion = sys.getrecursionlimit()
    handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        with contextlib.suppress(ValueError, OSError):
            handlers[sig] = signal.getsignal(sig)
    sys.dont_write_bytecode = True
    stdout_fd = _stdout_to_stderr()
    try:
        yield
    finally:
        _restore_stdout(stdout_fd)
        sys.dont_write_bytecode = bytecode
        sys.setrecursionlimit(recursion)
        sys.stdin, sys.stdout, sys.stderr = streams
        for sig, handler in handlers.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                with contextlib.suppress(ValueError, OSError, TypeError):
                    signal.signal(sig, handler)
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        if dict(os.environ) != environ:
            os.environ.clear()
            os.environ.update(environ)


def _stdout_to_stderr():
    """Whatever audited code prints (Python or C level) goes to stderr: stdout is for the report."""
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        return saved
    except (OSError, ValueError, AttributeError):
        return None


def _restore_stdout(saved) -> None:
    import os
    import sys

    if saved is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.dup2(saved, 1)
    with contextlib.suppress(OSError):
        os.close(saved)


class ImportRefused(ImportError):
    pass


class _ImportGuard:
    """A ``sys.meta_path`` entry refusing modules that live under untrusted folders (the
    audited configs' folders, the working directory), except detaudit's own and the rule
    packs' packages. With --no-exec nothing should import such modules; this makes sure."""

    def __init__(self, untrusted: list[Path], trusted: list[Path]):
        self.untrusted = [p.resolve() for p in untrusted]
        self.trusted = [p.resolve() for p in trusted]
        self.busy = False

    def find_spec(self, fullname, path, target=None):
        import sys

        if self.busy:
            return None
        self.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self.busy = False
        if spec is None:
            return None
        origin = spec.origin if spec.origin not in (None, "built-in", "frozen") else None
        if origin is None and spec.submodule_search_locations:
            origin = next(iter(spec.submodule_search_locations), None)
        if origin is None:
            return None
        where = Path(origin).resolve()
        if _under(where, self.untrusted) and not _under(where, self.trusted):
            raise ImportRefused(f"--no-exec: not importing {fullname} from {where} (code next to the audited config)")
        return None


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


class refuse_local_imports:
    """Context manager: while it is active, modules under ``untrusted`` folders cannot be imported."""

    def __init__(self, untrusted):
        import sys

        import sysconfig

        trusted = [Path(__file__).resolve().parents[1]]  # detaudit itself
        # installed packages and the standard library are the environment, not the audited code
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            with contextlib.suppress(KeyError, TypeError):
                trusted.append(Path(sysconfig.get_paths()[key]))
        try:
            from ..registry import rule_packs

            for package, _, _ in rule_packs():
                module = sys.modules.get(package)
                if module is not None and getattr(module, "__file__", None):
                    trusted.append(Path(module.__file__).resolve().parent)
        except Exception:  # noqa: BLE001 - a broken pack is reported elsewhere
            pass
        self.guard = _ImportGuard([Path(u) for u in untrusted], trusted)

    def __enter__(self):
        import sys

        sys.meta_path.insert(0, self.guard)
        return self

    def __exit__(self, *exc):
        import sys

        if self.guard in sys.meta_path:
            sys.meta_path.remove(self.guard)
        return False


@contextlib.contextmanager
def private_library_caches():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    pinned = {"TORCH_HOME": os.path.join(cache, "torch"), "MMENGINE_HOME": os.path.join(cache, "mmengine")}
    keys = list(pinned) + ["XDG_CACHE_HOME", "MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR"]
    saved = {k: os.environ.get(k) for k in keys}
    folder = tempfile.mkdtemp(prefix="detaudit-caches-")
    try:
        for key, value in pinned.items():
            os.environ.setdefault(key, value)
        os.environ["XDG_CACHE_HOME"] = os.path.join(folder, "cache")
        os.environ["MPLCONFIGDIR"] = os.path.join(folder, "matplotlib")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(folder, "torchinductor")
        yield folder
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def silenced_output():
    """Both standard streams to /dev/null (Python and C level) while a component that narrates its
    work runs (mmengine's Runner and pycocotools print progress on every dataset and checkpoint):
    what matters of it reaches the report as facts and findings."""
    import sys

    streams = []
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
        try:
            streams.append((fd, os.dup(fd)))
        except OSError:
            continue
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd, _ in streams:
        os.dup2(devnull, fd)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        for fd, saved in streams:
            os.dup2(saved, fd)
            os.close(saved)
        os.close(devnull)

"""Failures as data: a fact that could not be computed, an exception raised by audited code
(type, message, where), and which failures say nothing about the config (the audit's own
limits, this machine)."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import traceback
from dataclasses import dataclass, field
from typing import Any


class FactUnavailable(Exception):
    """A fact a rule needs could not be computed; the rule is skipped with ``reason``."""

    def __init__(self, fact: str, reason: str):
        super().__init__(reason)
        self.fact = fact
        self.reason = reason


@dataclass
class ErrorInfo:
    type: str
    message: str
    file: str | None = None
    line: int | None = None
    module: str | None = None  # deepest nn.Module executing when it was raised
    traceback: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_exception(cls, exc: BaseException, *, module: str | None = None,
                       prefer_files: tuple[str, ...] = ()) -> "ErrorInfo":
        """``file``/``line``: the innermost frame in one of ``prefer_files`` (the config and the
        files it reads), else the innermost frame of the audited project's code (the config or
        a module it imported: not the standard library, an installed package or detaudit)."""
        file = line = None
        if isinstance(exc, SyntaxError) and exc.filename:
            file, line = exc.filename, exc.lineno
        else:
            frame = project_frame(exc, prefer_files)
            if frame is not None:
                file, line = frame
        message = str(exc).strip() or type(exc).__name__
        if len(message) > 2000:
            message = message[:2000] + " …"
        extra = {"asserted": asserted_values(exc)} if isinstance(exc, AssertionError) else {}
        return cls(type=type(exc).__name__, message=message, file=file, line=line, module=module,
                   traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                   extra={k: v for k, v in extra.items() if v})

    def where(self) -> str:
        """``file:line`` as the user would open it (relative to the working directory when under it)."""
        if not self.file:
            return ""
        path = self.file
        with contextlib.suppress(ValueError):
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        return f"{path}:{self.line}" if self.line else path

    def short(self) -> str:
        first = self.message.splitlines()[0] if self.message else ""
        if not first or first == self.type:  # a bare `raise RuntimeError()`: say where instead
            return f"{self.type} (no message) raised at {self.where()}" if self.file else f"{self.type} (no message)"
        return f"{self.type}: {first}"


def project_frame(exc: BaseException, prefer_files: tuple[str, ...] = ()) -> tuple[str, int] | None:
    """(file, line) of the frame to show for ``exc``: the innermost in ``prefer_files``, else the
    innermost in the audited project's code. Paths are compared absolute: mmengine compiles a
    lazy-import config under the path it was given, often relative to the working directory."""
    preferred = {_absolute(f) for f in prefer_files}
    chosen = project = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        filename, lineno = code.co_filename, tb.tb_lineno
        if filename and not filename.startswith("<"):
            absolute = _absolute(filename)
            if absolute in preferred:
                chosen = (filename, lineno)
            elif not is_environment_code(tb.tb_frame.f_globals.get("__name__", ""), absolute):
                project = (filename, lineno)
        tb = tb.tb_next
    return chosen or project


def _absolute(path: str) -> str:
    try:
        return os.path.realpath(os.path.abspath(path))
    except (OSError, ValueError):
        return path


@functools.lru_cache(maxsize=1)
def environment() -> tuple[frozenset, tuple[str, ...]]:
    """(top-level module names, folders) of the environment the audited code runs in: the
    standard library, the site folders and what their ``.pth`` files add (editable installs
    included), and detaudit itself. Read from a few small files: listing every installed
    distribution's top-level names costs a quarter of a second (:func:`installed_name` answers
    for one name instead)."""
    import site
    import sys
    import sysconfig

    names = set(sys.builtin_module_names) | set(getattr(sys, "stdlib_module_names", ()))
    folders = {os.path.dirname(os.path.abspath(__file__))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError, TypeError):
            folders.add(sysconfig.get_paths()[key])
    with contextlib.suppress(AttributeError):
        folders.update(site.getsitepackages())
    with contextlib.suppress(AttributeError, TypeError):
        folders.add(site.getusersitepackages())
    for name, module in list(sys.modules.items()):  # setuptools' editable finders, imported by their .pth
        if not name.startswith("__editable__"):  # (asking any module for MAPPING can import it: a stand-in)
            continue
        mapping = getattr(module, "MAPPING", None)
        if isinstance(mapping, dict):
            names.update(k for k in mapping if isinstance(k, str))
            folders.update(v for v in mapping.values() if isinstance(v, str))
    folders.update(_pth_paths(site_folders(folders)))
    return frozenset(names), tuple(sorted({_absolute(f) for f in folders if f}))


def site_folders(folders=None) -> list[str]:
    """The folders installed distributions go to (site-packages, the user's)."""
    import sysconfig

    found = []
    for key in ("purelib", "platlib"):
        with contextlib.suppress(KeyError, TypeError):
            found.append(sysconfig.get_paths()[key])
    found += [f for f in folders or () if f.endswith(("site-packages", "dist-packages"))]
    return list(dict.fromkeys(f for f in found if os.path.isdir(f)))


def _pth_paths(sites: list[str]) -> set[str]:
    """The folders the ``.pth`` files of the site folders put on ``sys.path`` (``pip install -e``
    of a ``setup.py`` project, ``setup.py develop``)."""
    paths = set()
    for folder in sites:
        with contextlib.suppress(OSError):
            for entry in os.listdir(folder):
                if not entry.endswith(".pth"):
                    continue
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    with open(os.path.join(folder, entry), encoding="utf-8") as lines:
                        for line in lines:
                            line = line.strip()
                            if line and not line.startswith(("#", "import ", "import\t")):
                                paths.add(os.path.join(folder, line))
    return {p for p in paths if os.path.isdir(p)}


@functools.lru_cache(maxsize=None)
def installed_name(top: str) -> bool:
    """Whether a top-level module of this name is installed in a site folder: a source checkout on
    ``sys.path`` shadowing an installed package (mmdet cloned and put first) is the environment's too."""
    if not top:
        return False
    for folder in site_folders(environment()[1]):
        with contextlib.suppress(OSError):
            if any(entry == top or entry.split(".", 1)[0] == top and entry.endswith((".py", ".so", ".pyd"))
                   for entry in _entries(folder)):
                return True
    return False


@functools.lru_cache(maxsize=None)
def _entries(folder: str) -> tuple[str, ...]:
    return tuple(os.listdir(folder))


def is_environment_code(module_name: str, path: str | None) -> bool:
    """Whether code (a module's name, its file) is the environment's rather than the audited project's."""
    names, folders = environment()
    top = module_name.split(".")[0] if module_name and module_name != "__main__" else ""
    if top in names:
        return True
    if path:
        absolute = _absolute(path)
        if any(absolute == f or absolute.startswith(f + os.sep) for f in folders):
            return True
    return installed_name(top)


# what only the CPU kernel of mmcv's RoIAlign checks (the GPU kernel takes such a box as it is)
CPU_ROI_CHECK = "ROIs in ROIAlign cannot have non-negative size"

# what mmdet's mask pasting raises on a box wholly outside the image (torch.arange(y0, y1) with y0 > y1)
PASTE_MASK_BOUNDS = "upper bound and lower bound inconsistent with step sign"

# the type of the error a run reports when its process died (a segmentation fault in compiled code)
CRASH_TYPE = "ProcessCrash"


class AuditTimeout(Exception):
    """Raised where the audit runs when the config's time bound is spent (--timeout); ``interruption``
    is what the report says of the stop (the bound, where it was stopped)."""

    def __init__(self, message: str = "", interruption: dict | None = None):
        super().__init__(message)
        self.interruption = interruption


# torch's CPU allocator and oneDNN (which says only "could not create a primitive" when its
# scratch memory cannot be allocated; "... primitive descriptor" is an unsupported layout instead);
# torch.save's writer when its buffer cannot grow (mmengine serializes a checkpoint in memory first)
_MEMORY_PATTERNS = re.compile(r"can't allocate memory|cannot allocate memory|out of memory|std::bad_alloc|"
                              r"DefaultCPUAllocator|could not create a primitive(?! descriptor)|"
                              r"inline_container\.cc.*unexpected pos", re.IGNORECASE)

# what torch says when code asks for CUDA on a machine without it (CPU build, no driver, no GPU)
_NO_GPU_PATTERNS = re.compile(r"Torch not compiled with CUDA enabled|Found no NVIDIA driver|No CUDA GPUs are "
                              r"available|CUDA driver initialization failed|no CUDA-capable device|Cannot "
                              r"initialize CUDA without ATen_cuda library|Cannot access accelerator device",
                              re.IGNORECASE)

# what a tensor too small for the model says: a kernel larger than the feature map, more
# queries than tokens (topk), shapes that do not line up at a low resolution
_SIZE_PATTERNS = re.compile(r"size|shape|dimension|out of (?:range|bounds)|must match|mismatch|smaller than|"
                            r"larger than|greater than|too small|kernel|index|expected .*got|reshape|padd|empty",
                            re.IGNORECASE)


_CHANNELS = re.compile(r"to have \d+ channels, but got \d+ channels|expected weight to be at least 1 at dimension 0")


def is_memory_error(info: ErrorInfo | None) -> bool:
    return info is not None and (info.type == "MemoryError" or bool(_MEMORY_PATTERNS.search(info.message or "")))


def needs_gpu(info: ErrorInfo | None) -> bool:
    """The code asked for CUDA (a hard-coded ``.cuda()``, ``torch.cuda...``) on a machine without it."""
    return info is not None and bool(_NO_GPU_PATTERNS.search(info.message or ""))


def is_size_error(info: ErrorInfo | None) -> bool:
    """An error a larger synthetic input may fix: an index error, or a shape, size or index
    complaint (never memory, a missing GPU or a missing package)."""
    if info is None or not_the_models_fault(info):
        return False
    if info.type == "IndexError":
        return True
    if _CHANNELS.search(info.message or ""):
        return False  # a layer built for other channels: the same at every size
    return info.type in ("RuntimeError", "ValueError", "AssertionError") and \
        bool(_SIZE_PATTERNS.search(info.message if info.message != info.type else ""))


def not_the_models_fault(info: ErrorInfo | None) -> str | None:
    """Why a failed step says nothing about the config, if so: the audit's own memory cap or
    time limit (DA092, DA091 report those), an op without a CPU kernel or whose CPU kernel alone
    refuses the input, a crash inside installed compiled code, a failure in mmdet's own code that
    only an untrained model's output causes, or model code that needs a GPU on this machine
    without one."""
    if info is None:
        return None
    if is_memory_error(info):
        return "it ran out of memory (reported as DA092)"
    if info.type == AuditTimeout.__name__:
        return "it was stopped at --timeout (reported as DA091)"
    if "implementation for device cpu not found" in (info.message or ""):
        op = (info.message or "").split(":", 1)[0].strip()
        return f"mmcv has no CPU kernel for {op or 'an op it uses'}; it runs on GPU only"
    if CPU_ROI_CHECK in (info.message or ""):
        return ("mmcv's CPU RoIAlign refuses a box of negative size, which its GPU kernel takes (an untrained "
                "model's boxes can be inverted)")
    if PASTE_MASK_BOUNDS in (info.message or "") and "_do_paste_mask" in (info.traceback or ""):
        return ("mmdet's mask pasting (FCNMaskHead) fails on a box lying outside the image, which an untrained "
                "model predicts and a trained one does not")
    if info.type == CRASH_TYPE and info.extra.get("library"):
        return f"{info.message}, an installed library's code: nothing in the config to edit"
    if needs_gpu(info):
        where = f" at {info.where()}" if info.file else ""
        module = f" in module '{info.module}'" if info.module else ""
        return (f"the model's code asks for CUDA{module}{where} ({info.short()}): it needs a GPU, "
                f"and this machine has none")
    return None


def asserted_values(exc: BaseException) -> dict[str, Any]:
    """For a failed ``assert``: the values, in the asserting frame, of the names its condition tests
    and of the function's arguments, as plain data (small dicts, lists and scalars; others left out),
    so that a dict the config wrote can be recognized where a builder asserted on it."""
    import linecache

    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return {}
    frame, code = tb.tb_frame, tb.tb_frame.f_code
    source = linecache.getline(code.co_filename, tb.tb_lineno).strip()
    if not source.startswith("assert"):
        return {}
    names = set(re.findall(r"\b([A-Za-z_]\w*)\b", source)) | set(code.co_varnames[:code.co_argcount])
    values = {}
    with contextlib.suppress(Exception):  # a frame's values are a help, never a failure
        local = frame.f_locals
        for name in sorted(names - {"self"}):
            if name in local:
                plain = _plain(local[name])
                if plain is not _OPAQUE:
                    values[name] = plain
    return {"source": source, "function": code.co_name, "values": values} if values else {}


_OPAQUE = object()


def _plain(value, depth: int = 0):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) or len(value) <= 200 else _OPAQUE
    if depth > 2:
        return _OPAQUE
    if isinstance(value, (list, tuple)) and len(value) <= 16:
        items = [_plain(v, depth + 1) for v in value]
        return _OPAQUE if any(v is _OPAQUE for v in items) else items
    if hasattr(value, "items") and hasattr(value, "keys") and len(value) <= 24:
        items = {k: _plain(v, depth + 1) for k, v in value.items()}
        if all(isinstance(k, str) for k in items) and not any(v is _OPAQUE for v in items.values()):
            return items
    return _OPAQUE

"""Failures as data: a fact that could not be computed, an exception raised by audited code
(type, message, where), and which failures say nothing about the config (the audit's own
limits, this machine)."""
from __future__ import annotations

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
        file = line = None
        if isinstance(exc, SyntaxError) and exc.filename:
            file, line = exc.filename, exc.lineno
        else:
            frames = traceback.extract_tb(exc.__traceback__)
            # Prefer the innermost frame in one of the audited files, else the innermost.
            chosen = None
            for fr in frames:
                if prefer_files and fr.filename in prefer_files:
                    chosen = fr
            if chosen is not None:
                file, line = chosen.filename, chosen.lineno
        message = str(exc).strip() or type(exc).__name__
        if len(message) > 2000:
            message = message[:2000] + " …"
        return cls(type=type(exc).__name__, message=message, file=file, line=line, module=module,
                   traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def short(self) -> str:
        first = self.message.splitlines()[0] if self.message else ""
        return f"{self.type}: {first}"


class AuditTimeout(Exception):
    """Raised inside a worker when the config's time budget is spent (--timeout)."""


_MEMORY_PATTERNS = re.compile(r"can't allocate memory|cannot allocate memory|out of memory|std::bad_alloc|"
                              r"DefaultCPUAllocator", re.IGNORECASE)


def is_memory_error(info: ErrorInfo | None) -> bool:
    return info is not None and (info.type == "MemoryError" or bool(_MEMORY_PATTERNS.search(info.message or "")))


def not_the_models_fault(info: ErrorInfo | None) -> str | None:
    """Why a failed step says nothing about the config, if so: the audit's own memory cap or
    time limit (DA092, DA091 report those), or an op without a CPU kernel on this machine."""
    if info is None:
        return None
    if is_memory_error(info):
        return "it ran out of memory (reported as DA092)"
    if info.type == AuditTimeout.__name__:
        return "it was stopped at --timeout (reported as DA091)"
    if "implementation for device cpu not found" in (info.message or ""):
        op = (info.message or "").split(":", 1)[0].strip()
        return f"mmcv has no CPU kernel for {op or 'an op it uses'}; it runs on GPU only"
    return None

"""Capturing exceptions raised by audited code as data (type, message, where)."""
from __future__ import annotations

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

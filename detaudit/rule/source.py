"""The source text of installed classes and functions for rules that read code (each file parsed
once per process; the same text as ``inspect.getsource``)."""
from ..facts.source_text import source_lines, source_of

__all__ = ["source_lines", "source_of"]

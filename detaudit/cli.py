"""The ``detaudit`` console script's former target, kept for installs made before the command
line moved to :mod:`detaudit.faces.cli`."""
from .faces.cli import main

__all__ = ["main"]

"""``from detaudit.testing import assert_frozen``: assertions for a project's own tests (they
live in :mod:`detaudit.faces.testing`)."""
from .faces.testing import FREEZE_CODES, assert_frozen

__all__ = ["assert_frozen", "FREEZE_CODES"]

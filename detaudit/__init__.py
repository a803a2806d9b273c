"""detaudit: audit MMDetection 3.x / mmengine configs before training.

Importing this package is cheap: torch, mmengine and mmdet are imported only by the
functions that need them.
"""
from __future__ import annotations

from ._version import __version__  # noqa: E402

__all__ = ["audit", "audit_logs", "check_frozen", "Finding", "Report", "Violation", "rule", "__version__"]

from .findings import Finding  # noqa: E402
from .report.report import Report  # noqa: E402
from .rule import Violation, rule  # noqa: E402


def audit(config, *, select=None, ignore=None, expect_frozen=(), tier="run", cfg_options=None, **kwargs):
    """Audit one config (a path or an mmengine ``Config``) and return a :class:`Report`
    (the keywords of :func:`detaudit.faces.api.audit`)."""
    from .faces.api import audit as _audit

    return _audit(config, select=select, ignore=ignore, expect_frozen=expect_frozen, tier=tier,
                  cfg_options=cfg_options, **kwargs)


def audit_logs(work_dir, *, select=None, ignore=None, expect_frozen=(), expect_losses=(), config=None,
               cfg_options=None, **kwargs):
    """Audit a training run from its work dir (``detaudit logs``) and return a :class:`Report`."""
    from .faces.api import audit_logs as _audit_logs

    return _audit_logs(work_dir, select=select, ignore=ignore, expect_frozen=expect_frozen,
                       expect_losses=expect_losses, config=config, cfg_options=cfg_options, **kwargs)


def check_frozen(model, *modules: str):
    """Findings for the named modules of an already built ``nn.Module`` that still train."""
    from .faces.api import check_frozen as _check_frozen

    return _check_frozen(model, *modules)

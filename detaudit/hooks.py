"""``custom_imports=dict(imports=['detaudit.hooks'])`` registers :class:`DetAuditHook` with
mmengine's HOOKS registry (the hook lives in :mod:`detaudit.faces.hook`)."""
from .faces.hook import REPORT_NAME, DetAuditHook, DetAuditStop

__all__ = ["DetAuditHook", "DetAuditStop", "REPORT_NAME"]

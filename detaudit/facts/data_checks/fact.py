"""The ``data_checks`` fact of the audit: the whole-annotation checks of ``detaudit data`` on the
datasets whose data is on this machine (annotation files up to 256 MiB read, 50 image files sampled
per split, nothing decoded, no contact sheet)."""
from __future__ import annotations

from ...errors import FactUnavailable

IMAGE_SAMPLE = 50
# Annotation files the audit reads; larger ones are left to `detaudit data` (a JSON document takes
# several times its size in memory, and the audit may run under --max-memory).
AUDIT_MAX_BYTES = 256 * 2**20


def data_checks_fact(ctx):
    from ..sandbox import no_network, quiet
    from .audit import check_config

    with quiet(), no_network():
        report = check_config(ctx.cfg, ctx.base_dir, image_sample=IMAGE_SAMPLE, skip_larger_than=AUDIT_MAX_BYTES)
    if not report.read_any:
        why = "; ".join(f"{r.key_path}: {r.skipped}" for r in report.splits if r.skipped)
        raise FactUnavailable("data_checks", "no configured dataset is on this machine"
                              + (f" ({why[:300]})" if why else " (the config has no dataloaders)"))
    return report

"""The Python API behind ``detaudit.audit`` and ``detaudit.check_frozen``: one config in this
process, or in one supervised worker when limits are asked for."""
from __future__ import annotations

from ..driver import ConfigFile, WorkDir
from ..driver import audit as run_audit
from ..findings import Finding, Location
from ..options import AuditOptions
from ..report.report import Report


def audit(config, *, select=None, ignore=None, extend_select=None, expect_frozen=(), tier="run",
          cfg_options=None, severity=None, fail_on="error", input_size=None, debug=False,
          expect_frozen_source="expect_frozen", no_exec=False, timeout=None, max_memory=None, data="auto",
          baseline=None) -> Report:
    """``no_exec`` reads the config without running its code; ``timeout`` (seconds) and
    ``max_memory`` (bytes) run the audit in a supervised worker process (detaudit/workers).
    Without ``timeout`` the audit runs in this process within its tier's time bound
    (detaudit/facts/deadline.py); ``timeout=0`` means no bound. ``baseline``: a baseline file
    whose findings are accepted (as ``--baseline``)."""
    options = AuditOptions(select=list(select or ["ALL"]), ignore=list(ignore or []),
                           extend_select=list(extend_select or []), fail_on=fail_on, tier=tier,
                           expect_frozen=list(expect_frozen), severity=dict(severity or {}),
                           cfg_options=dict(cfg_options or {}), input_size=input_size, debug=debug,
                           no_exec=no_exec, timeout=timeout, max_memory=max_memory,
                           expect_frozen_source=expect_frozen_source, data=data)
    if options.needs_worker:
        from ..workers.supervisor import run_isolated

        result = run_isolated(config, options)
    else:
        result = run_audit(ConfigFile(config), options)
    return _finished(Report(audits=[result], settings=options), baseline)


def audit_logs(work_dir, *, select=None, ignore=None, expect_frozen=(), expect_losses=(), config=None,
               cfg_options=None, severity=None, fail_on="error", debug=False, baseline=None) -> Report:
    """A training run audited from its work dir (the DA9xx rules); raises
    :class:`~detaudit.load.workdir.WorkDirError` when ``work_dir`` holds no run."""
    options = AuditOptions(select=list(select or ["ALL"]), ignore=list(ignore or []), fail_on=fail_on,
                           expect_frozen=list(expect_frozen), severity=dict(severity or {}),
                           cfg_options=dict(cfg_options or {}), expect_frozen_source="expect_frozen", debug=debug)
    result = run_audit(WorkDir(work_dir, config=config, expect_losses=tuple(expect_losses)), options)
    return _finished(Report(audits=[result], settings=options), baseline)


def _finished(report: Report, baseline) -> Report:
    if baseline is not None:
        from ..report.complete import apply_baseline

        apply_baseline(report, baseline)
    return report


def check_frozen(model, *modules: str) -> list[Finding]:
    """DA102 (and DA103 by mode) on an already built model, without a config."""
    from torch.nn.modules.batchnorm import _BatchNorm

    named = dict(model.named_modules())
    findings = []
    for module in modules:
        if module not in named:
            findings.append(Finding("DA102", "expected-frozen-but-trainable", "error",
                                    f"{module}: no such module in {type(model).__name__}", module_path=module))
            continue
        params = list(named[module].named_parameters())
        total = sum(p.numel() for _, p in params)
        trainable = [(n, p.numel()) for n, p in params if p.requires_grad]
        n_train = sum(k for _, k in trainable)
        if n_train:
            findings.append(Finding(
                "DA102", "expected-frozen-but-trainable", "error",
                f"{module}: {n_train:,} of {total:,} parameters are trainable "
                f"(e.g. {', '.join(f'{module}.{n}' for n, _ in trainable[:3])})",
                module_path=module, evidence={"trainable": n_train, "total": total, "intent_source": "check_frozen"},
                fix=f"set requires_grad=False on {module} (for mmdet ResNet: frozen_stages=4, norm_eval=True)",
                location=Location("<model>")))
        bn_train = [f"{module}.{n}" if n else module for n, m in named[module].named_modules()
                    if isinstance(m, _BatchNorm) and m.training]
        if bn_train:
            findings.append(Finding(
                "DA103", "frozen-bn-stats-drift", "error",
                f"{module}: {len(bn_train)} BatchNorm layers are in train mode, so their running statistics "
                f"move every iteration (e.g. {', '.join(bn_train[:3])})",
                module_path=module, evidence={"bn_in_train_mode": bn_train}, fix="set norm_eval=True",
                location=Location("<model>")))
    return findings

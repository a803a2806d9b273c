"""The Python API behind ``detaudit.audit`` and ``detaudit.check_frozen``."""
from __future__ import annotations

import contextlib

from .context import AuditContext
from .engine import AuditResult, run_audit
from .findings import Finding, Location
from .registry import select_rules
from .report import Report, Settings


def audit(config, *, select=None, ignore=None, extend_select=None, expect_frozen=(), tier="train",
          cfg_options=None, severity=None, fail_on="error", input_size=None, debug=False,
          expect_frozen_source="expect_frozen", no_exec=False, timeout=None, max_memory=None) -> Report:
    """``no_exec`` reads the config without running its code; ``timeout`` (seconds) and
    ``max_memory`` (bytes) run the audit in a supervised worker process (detaudit/parallel.py)."""
    settings = Settings(select=list(select or ["ALL"]), ignore=list(ignore or []),
                        extend_select=list(extend_select or []), fail_on=fail_on, tier=tier,
                        expect_frozen=list(expect_frozen), severity=dict(severity or {}))
    if timeout or max_memory:
        from .parallel import RunOptions, run_isolated

        options = RunOptions(cfg_options=dict(cfg_options or {}), input_size=input_size, debug=debug,
                             no_exec=no_exec, timeout=timeout, max_memory=max_memory,
                             expect_frozen_source=expect_frozen_source)
        result = run_isolated(config, settings, options)
    else:
        result = audit_one(config, settings, cfg_options=cfg_options, input_size=input_size, debug=debug,
                           expect_frozen_source=expect_frozen_source, no_exec=no_exec)
    return Report(audits=[result], settings=settings)


def audit_one(config, settings: Settings, *, cfg_options=None, input_size=None, debug=False,
              expect_frozen_source="--expect-frozen", no_exec=False, on_context=None, limits=None) -> AuditResult:
    rules = select_rules(settings.select, settings.ignore, settings.extend_select)
    ctx = AuditContext(config, cfg_options=cfg_options, expect_frozen=settings.expect_frozen,
                       expect_frozen_source=expect_frozen_source, input_size=input_size, tier=settings.tier,
                       no_exec=no_exec)
    if on_context is not None:
        on_context(ctx)  # the worker keeps it to stop the audit at --timeout
    try:
        with _process_state_kept(), _import_guard(ctx):
            result = run_audit(ctx, rules, severity_overrides=settings.severity, debug=debug)
        from .parallel import add_supervision_findings

        add_supervision_findings(ctx, result, rules, settings.severity, limits)
        # Inline "# detaudit: ignore[...]" comments, honoured by the API, the CLI and the pytest plugin.
        from . import suppressions

        suppressions.apply(ctx, result, rules, settings.severity)
        return result
    finally:
        release(ctx)


@contextlib.contextmanager
def _process_state_kept():
    """Audited code runs in this process: undo what a config may change for the next one
    (working directory, standard streams, environment), and keep Python from writing
    bytecode caches next to audited configs and their custom modules."""
    import os
    import sys

    import signal

    cwd = os.getcwd()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    environ = dict(os.environ)
    bytecode = sys.dont_write_bytecode
    recursion = sys.getrecursionlimit()
    handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        with contextlib.suppress(ValueError, OSError):
            handlers[sig] = signal.getsignal(sig)
    sys.dont_write_bytecode = True
    stdout_fd = _stdout_to_stderr()
    try:
        yield
    finally:
        _restore_stdout(stdout_fd)
        sys.dont_write_bytecode = bytecode
        sys.setrecursionlimit(recursion)
        sys.stdin, sys.stdout, sys.stderr = streams
        for sig, handler in handlers.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                with contextlib.suppress(ValueError, OSError, TypeError):
                    signal.signal(sig, handler)
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        if dict(os.environ) != environ:
            os.environ.clear()
            os.environ.update(environ)


def _stdout_to_stderr():
    """Whatever audited code prints (Python or C level) goes to stderr: stdout is for the report."""
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        return saved
    except (OSError, ValueError, AttributeError):
        return None


def _restore_stdout(saved) -> None:
    import os
    import sys

    if saved is None:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.dup2(saved, 1)
    with contextlib.suppress(OSError):
        os.close(saved)


def _import_guard(ctx: AuditContext):
    """--no-exec: no module next to the audited config (or in the working directory) may be
    imported while its rules run, whatever a rule does."""
    if not ctx.no_exec:
        return contextlib.nullcontext()
    import os

    from .static_config import refuse_local_imports

    folders = [os.getcwd()] + ([str(ctx.config_path.resolve().parent)] if ctx.config_path else [])
    return refuse_local_imports(folders)


def release(ctx: AuditContext) -> None:
    """Drop the model, graph and optimizer so that auditing many configs keeps memory flat."""
    ctx._facts.clear()


def check_frozen(model, *modules: str) -> list[Finding]:
    """DA102 (and DA103 by mode) on an already built model, without a config."""
    from torch.nn.modules.batchnorm import _BatchNorm

    from .registry import all_rules

    da102 = all_rules().get("DA102")
    da103 = all_rules().get("DA103")
    named = dict(model.named_modules())
    findings = []
    for module in modules:
        if module not in named:
            findings.append(Finding("DA102", da102.name if da102 else "expected-frozen-but-trainable", "error",
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

"""``DetAuditHook``: detaudit inside an mmengine training run.

In a config::

    custom_imports = dict(imports=['detaudit.hooks'], allow_failed_imports=False)
    custom_hooks = [dict(type='DetAuditHook', expect_losses=['loss_macl'], fail_on='error')]

Before the first iteration it audits the objects the Runner built (the model after
``load_from`` and the freeze hooks, the optimizer wrapper and its parameter groups, the
config as it runs) with the config audit's rules, logs the findings through the runner's
logger and writes the JSON report (``detaudit.json`` in the work dir, by the first process
only). After iteration ``check_iter``, and every ``interval`` iterations after it if set, it
checks on every process that the frozen modules are bitwise unchanged, that the expected loss
terms are logged and finite, and (once) which trainable parameters received no gradient; the
processes' findings are gathered, so every process takes the same decision. With ``fail_on``,
a finding at or above that severity stops training with one message.

The findings are judged as ``detaudit CONFIG`` judges them: ``[tool.detaudit]`` of the nearest
``pyproject.toml`` (severities, per-file ignores, expect-frozen), the config's inline
``# detaudit: ignore[...]`` comments, and a ``baseline`` file if one is given.
"""
from __future__ import annotations

import os
import time

from mmengine.dist import all_gather_object, get_rank, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..findings import SEVERITIES, sort_findings, severity_rank
from ..options import AuditOptions
from ..report.report import Report
from ..report.result import AuditResult

REPORT_NAME = "detaudit.json"


class DetAuditStop(RuntimeError):
    """DetAuditHook stopped training: a finding at or above ``fail_on``."""


@HOOKS.register_module()
class DetAuditHook(Hook):
    """Audit a training run from inside: before the first iteration, and after iteration
    ``check_iter`` (and every ``interval`` iterations if set).

    Args:
        check_iter (int): the iteration after which the frozen modules, the loss terms and the
            gradients are first checked, counted from this launch's first (1: the first
            iteration, also of a resumed run). Default 1.
        interval (int, optional): check again every ``interval`` iterations after
            ``check_iter``. Default None (once).
        expect_losses (list[str], optional): loss keys every iteration must log, finite.
            Default: the loss keys of the first iteration.
        expect_frozen (list[str]): modules that must not change, besides those the config
            freezes (``lr_mult=0``, ``frozen_stages``, freeze hooks).
        fail_on (str, optional): ``'error'``, ``'warning'`` or ``'info'``: stop training at the
            first audit with a finding at or above it. Default None (only log).
        select, ignore (list[str], optional): rule codes or prefixes, as on the command line.
        severity (dict, optional): per-rule severities, e.g. ``{'DA205': 'info'}``.
        report (str, optional): the JSON report's file name in the work dir (None: none).
        baseline (str, optional): a baseline file (``detaudit --write-baseline``) whose findings
            are accepted. Default None.
        settings (str, optional): the ``pyproject.toml`` to read ``[tool.detaudit]`` from.
            Default: the nearest one above the working directory; ``False``: none.
    """

    priority = "LOWEST"  # before_train after every other hook's (the freeze hooks') own

    def __init__(self, check_iter: int = 1, interval: int | None = None, expect_losses=None, expect_frozen=(),
                 fail_on: str | None = None, select=None, ignore=None, severity=None,
                 report: str | None = REPORT_NAME, baseline: str | None = None, settings=None) -> None:
        if not isinstance(check_iter, int) or check_iter < 1:
            raise ValueError(f"DetAuditHook: check_iter must be an iteration number >= 1, got {check_iter!r}")
        if interval is not None and (not isinstance(interval, int) or interval < 1):
            raise ValueError(f"DetAuditHook: interval must be None or >= 1, got {interval!r}")
        if fail_on is not None and fail_on not in SEVERITIES:
            raise ValueError(f"DetAuditHook: fail_on must be None or one of {SEVERITIES}, got {fail_on!r}")
        self.check_iter, self.interval, self.fail_on, self.report_name = check_iter, interval, fail_on, report
        self.expect_losses = [expect_losses] if isinstance(expect_losses, str) else list(expect_losses or [])
        frozen = [expect_frozen] if isinstance(expect_frozen, str) else list(expect_frozen or [])
        self.frozen_source = f"DetAuditHook(expect_frozen={frozen})"
        self.baseline, self.settings_file = baseline, settings
        self._asked = dict(select=list(select) if select else None, ignore=list(ignore) if ignore else None,
                           fail_on=fail_on, severity=dict(severity or {}), expect_frozen=frozen)
        self.options = AuditOptions(select=list(select or ["ALL"]), ignore=list(ignore or []),
                                    fail_on=fail_on or "error", expect_frozen=frozen, severity=dict(severity or {}),
                                    expect_frozen_source=self.frozen_source)
        self._before: AuditResult | None = None
        self._watch = None
        self._intents: list = []
        self._once: list = []
        self._latest: list = []
        self._check_seconds = 0.0
        self._first_iter = 0
        self._known: dict = {}

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _due(self, iteration: int) -> bool:
        """``iteration`` counts from this launch's first (a resumed run is checked too)."""
        if iteration == self.check_iter:
            return True
        return bool(self.interval) and iteration > self.check_iter and (iteration - self.check_iter) % self.interval == 0

    # ------------------------------------------------------------------ before the first iteration
    def _judging(self, runner) -> AuditOptions:
        """The options as ``detaudit CONFIG`` would judge this config: the hook's arguments over
        ``[tool.detaudit]`` (its per-file ignores and expect-frozen too)."""
        from .. import settings as project_settings

        if self.settings_file is False:
            file_settings = project_settings.FileSettings()
        else:
            try:
                file_settings = project_settings.load_settings(self.settings_file)
                project_settings.check_codes(file_settings)
            except project_settings.SettingsError as exc:
                runner.logger.warning(f"DetAuditHook: {exc}; the hook's own arguments apply")
                file_settings = project_settings.FileSettings()
        options = project_settings.merge(file_settings, **self._asked)
        config = getattr(runner.cfg, "filename", None)
        if config:
            options, _ = project_settings.for_config(file_settings, options, config,
                                                     cli_expect_frozen=bool(self._asked["expect_frozen"]),
                                                     default_source=self.frozen_source)
        else:
            options.expect_frozen_source = self.frozen_source
        return options

    def _judged(self, result: AuditResult) -> AuditResult:
        """The baseline's accepted findings dropped (suppressions were applied by the audit)."""
        if self.baseline:
            from ..report.complete import apply_baseline

            apply_baseline(Report(audits=[result], settings=self.options), self.baseline)
        return result

    def before_train(self, runner) -> None:
        from ..driver import RunnerObjects, audit_keeping
        from ..facts.live_run import Watch, runner_datasets

        start = time.perf_counter()
        self._first_iter = runner.iter  # 0, or where a resumed run starts again
        model = self._model(runner)
        model.train()  # the state the iterations run in (the loop calls it again)
        try:
            self.options = self._judging(runner)
            source = RunnerObjects(runner.cfg, model, getattr(runner, "optim_wrapper", None),
                                   datasets=tuple(runner_datasets(runner)))
            result, kept = audit_keeping(source, self.options, keep=("freeze_intents", "source_map"))
            result = self._judged(result)
            self._intents = list(kept.get("freeze_intents") or [])  # none known: nothing to hold still
            self._known = {"source_map": kept["source_map"]} if "source_map" in kept else {}
            self._watch = Watch(model, self._intents, expect_losses=self.expect_losses,
                                expect_losses_source="DetAuditHook(expect_losses=...)", rank=get_rank())
            self._watch.watch_gradients()
        except Exception as exc:  # noqa: BLE001 - the audit must not be what breaks a training run
            runner.logger.warning(f"DetAuditHook: the audit before training failed ({type(exc).__name__}: {exc}); "
                                  "training goes on without it")
            self._watch = None
            return
        self._before = result
        self._before.timings["hook_before_train"] = round(time.perf_counter() - start, 3)
        self._log(runner, "before the first iteration", result.findings, single_process=True)
        if is_main_process():
            modules = ", ".join(dict.fromkeys(g.module for g in self._watch.groups)) or "no module"
            runner.logger.info(f"DetAuditHook before the first iteration: {self._counts(result.findings)}; "
                               f"{len(result.ran)} rule(s) ran on the Runner's objects, {len(result.skipped)} skipped "
                               f"({time.perf_counter() - start:.2f} s); watching {len(self._watch.names)} frozen "
                               f"tensor(s) of {modules}")
        self._write(runner)
        self._stop_if_failing(runner, result.findings, "before the first iteration")

    # ------------------------------------------------------------------ during training
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._watch is None:
            return
        iteration = runner.iter + 1
        self._watch.record_losses(iteration, outputs)
        if not self._due(iteration - self._first_iter):
            return
        try:
            self._check(runner, iteration)
        except DetAuditStop:
            raise
        except Exception as exc:  # noqa: BLE001 - the audit must not be what breaks a training run
            runner.logger.warning(f"DetAuditHook: the check after iteration {iteration} failed "
                                  f"({type(exc).__name__}: {exc}); training goes on")

    def _check(self, runner, iteration: int) -> None:
        from ..driver import RunnerObjects, audit
        from ..facts.live_run import lr_by_param

        start = time.perf_counter()
        watch = self._watch
        if watch.coverage is None and watch.coverage_named_at is None:
            watch.stop_watching_gradients(iteration - self._first_iter)  # the iterations watched
        model = self._model(runner)
        watch.compare_now(iteration, lr_by_param(model, getattr(runner, "optim_wrapper", None)))
        result = self._judged(audit(RunnerObjects(runner.cfg, model, watch=watch, intents=self._intents,
                                                  known=self._known), self.options))
        findings = self._gather(result.findings)
        if watch.coverage is not None and watch.coverage_named_at is None:
            watch.coverage_named_at = iteration  # named once: later checks skip DA907
            self._once = [f for f in findings if f.code == "DA907"]
        once = {f.fingerprint for f in self._once}
        self._latest = [f for f in findings if f.fingerprint not in once]
        self._runtime = result
        self._check_seconds += time.perf_counter() - start
        where = f"after iteration {iteration}"
        self._log(runner, where, findings)
        self._log_losses(runner, where)
        self._write(runner)
        self._stop_if_failing(runner, findings, where)

    def _gather(self, findings: list) -> list:
        """Every process's findings, merged by fingerprint; in a distributed run each keeps the
        list of processes it was found on (``evidence['ranks']``)."""
        world = get_world_size()
        if world == 1:
            return list(findings)
        merged: dict[str, object] = {}
        ranks: dict[str, list[int]] = {}
        for rank, found in enumerate(all_gather_object(list(findings))):
            for f in found:
                merged.setdefault(f.fingerprint, f)
                ranks.setdefault(f.fingerprint, []).append(rank)
        for fp, f in merged.items():
            f.evidence = dict(f.evidence, ranks=ranks[fp])
        return sort_findings(list(merged.values()))

    # ------------------------------------------------------------------ output
    def _log(self, runner, where: str, findings: list, single_process: bool = False) -> None:
        if not is_main_process():
            return  # the findings were gathered: the first process speaks for all
        world = get_world_size()
        for f in sort_findings(findings):
            ranks = f.evidence.get("ranks") if isinstance(f.evidence, dict) else None
            on = ""
            if world > 1 and not single_process and ranks is not None:
                on = " (every process)" if len(ranks) == world else f" (process {', '.join(map(str, ranks))})"
            fix = f" Fix: {f.fix}" if f.fix and f.severity != "info" else ""
            line = f"DetAuditHook {where}: {f.code} [{f.severity}] {f.message}{on}.{fix}"
            level = {"error": runner.logger.error, "warning": runner.logger.warning}.get(f.severity, runner.logger.info)
            level(line)

    def _log_losses(self, runner, where: str) -> None:
        import math

        if not is_main_process():
            return
        log = self._watch.losses
        present = [k for k in log.expected if k in log.series and log.series[k].last_iter == log.last_iter
                   and not log.series[k].nonfinite]
        if present:
            values = ", ".join(f"{k}={log.series[k].last_value:.4g}" for k in present
                               if math.isfinite(log.series[k].last_value))
            runner.logger.info(f"DetAuditHook {where}: expected losses present and finite in every logged iteration "
                               f"so far: {values} (expected: {log.expected_source})")

    @staticmethod
    def _counts(findings: list) -> str:
        counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
        return f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"

    def combined(self) -> AuditResult:
        """The before_train result with the latest checks' findings added."""
        before = self._before
        runtime = getattr(self, "_runtime", None)
        result = AuditResult(config=before.config, findings=sort_findings(before.findings + self._once + self._latest),
                             skipped=list(before.skipped), ran=list(before.ran), tiers=dict(before.tiers),
                             status=before.status, model=before.model, optimizer=before.optimizer,
                             timings=dict(before.timings))
        if runtime is not None:
            result.ran += [c for c in runtime.ran if c not in result.ran]
            result.skipped += [s for s in runtime.skipped if s["code"] not in result.ran]
            result.timings["hook_checks"] = round(self._check_seconds, 3)
        if self._watch is not None and self._watch.losses.records:
            import math

            result.losses = {k: (s.last_value if math.isfinite(s.last_value) else None)
                             for k, s in self._watch.losses.series.items()}
        return result

    def report_path(self, runner) -> str | None:
        if not self.report_name:
            return None
        return os.path.join(runner.work_dir, self.report_name)

    def _write(self, runner) -> None:
        path = self.report_path(runner)
        if path is None or not is_main_process() or self._before is None:
            return
        from ..atomic import write_atomic

        try:
            write_atomic(path, Report(audits=[self.combined()], settings=self.options).to_json())
        except OSError as exc:
            runner.logger.warning(f"DetAuditHook: could not write the report {path}: {exc}")

    def _stop_if_failing(self, runner, findings: list, where: str) -> None:
        if self.fail_on is None:
            return
        failing = [f for f in sort_findings(findings) if severity_rank(f.severity) >= severity_rank(self.fail_on)]
        if not failing:
            return
        path = self.report_path(runner)
        listed = "; ".join(f"{f.code} {f.message}" for f in failing[:3])
        more = f"; and {len(failing) - 3} more" if len(failing) > 3 else ""
        report = f" Report: {path}." if path else ""
        message = (f"DetAuditHook(fail_on={self.fail_on!r}) stopped training {where}: {len(failing)} finding(s) at or "
                   f"above {self.fail_on}: {listed}{more}.{report}")
        if is_main_process():
            runner.logger.error(message)
        raise DetAuditStop(message)

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.explain import explain
from detaudit.rule.run import failures_of, setup_error, violation, where

from .da716_run_crash_traced_to_key import PHASES  # the pass each run stage stands for, as DA716 reads them


@rule(code="DA700", name="run-failed", severity="error", tier="run", needs=("run_result",))
def run_failed(ctx):
    """The dry run of the Runner failed at a step no other DA7xx rule names.

    ## What it does
    The run tier (``--tier run``) runs mmengine's real ``Runner`` on a private copy of the config:
    two training iterations, one validation pass, the test loop, a checkpoint and a resume.
    Failures of a known component (a dataset, a transform, an evaluator, a hook, a scheduler, a
    loop, the visualizer, the checkpoint) have their own rules; this one reports what is left:
    the run could not be set up at all, or it failed somewhere the traceback does not tie to a
    config key (the log processor, the environment set-up, a custom loop's own code). It also
    reports a run whose process died (a segmentation fault in compiled code) while the project's
    own code was on the stack, a hook's for instance, naming the crash site from faulthandler's
    stack; a crash with only installed code on the stack stops the run without a finding.

    ## Why is this bad?
    Whatever stops this run stops the real training at the same step, after the job waited for
    its GPUs. A failure is always a finding: a run that cannot be made is never reported as
    passed.

    ## Example
    ```python
    log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, custom_cfg=[dict(data_src='loss')])
    ```

    ## Use instead
    ```python
    log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
    ```
    """
    try:
        failures = failures_of(ctx, "run")
    except FactUnavailable:
        err = setup_error(ctx)
        if err is None:
            raise
        yield Violation(message=f"the run could not be set up: {err.short()}", evidence={"exception": err.type,
                        "detail": err.message.splitlines()[0] if err.message else ""},
                        fix="run with --debug for the traceback")
        return
    for f in failures:
        v = violation(f, f"the run failed {where(f)}: {f.error.short()}", "run with --debug for the traceback")
        if not v.key_path:  # the key the failure's message ties it to (DA716 explains it), where there is one
            found = [e for e in explain(ctx.cfg, f.error, PHASES.get(f.stage, "")) if e.key_path]
            if found:
                v.key_path = found[0].key_path
        yield v

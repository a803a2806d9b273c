"""What the run tier's rules share: the failures of one kind of component, as findings."""
from __future__ import annotations

from ..errors import FactUnavailable, not_the_models_fault
from .declare import Violation


def failures_of(ctx, component: str) -> list:
    """The run's failures of one component kind; skipped (FactUnavailable) when the run did not run.
    A failure that says nothing about the config (an op with no CPU kernel, code that needs a GPU,
    the audit's own limits) is not one: the rule is skipped with it as the reason, as the forward
    tier's rules are."""
    result = ctx.run_result
    stage = result.stages.get("run", "")
    if stage.startswith("skipped"):
        raise FactUnavailable("run_result", f"the run tier did not run: {stage[len('skipped: '):]}")
    failures = [f for f in result.failures if f.component == component]
    kept = [f for f in failures if not not_the_models_fault(f.error)]
    if failures and not kept:
        raise FactUnavailable("run_result", f"the run stopped because {not_the_models_fault(failures[0].error)}")
    return kept


def setup_error(ctx):
    """The error that kept the run from being set up, if any; FactUnavailable when it says nothing
    about the config (--timeout or --max-memory stopped it: DA091 and DA092 report those)."""
    err = ctx.errors.get("run")
    excuse = not_the_models_fault(err)
    if excuse:
        raise FactUnavailable("run_result", f"the run stopped because {excuse}")
    return err


def violation(failure, message: str, fix: str) -> Violation:
    err = failure.error
    evidence = {"stage": failure.stage, "exception": err.type,
                "detail": err.message.splitlines()[0] if err.message else "", **failure.detail}
    return Violation(message=message, key_path=failure.key_path or None, evidence=evidence, fix=fix,
                     module_path=failure.detail.get("module"))


def where(failure) -> str:
    """' (while validating)' and the like, for messages."""
    stage = {"build": "when the Runner builds it", "train": "in a training iteration", "val": "during validation",
             "test": "during the test loop", "checkpoint": "when the checkpoint is written",
             "resume": "when training resumes from the checkpoint",
             "run": "while the Runner ran"}.get(failure.stage, f"in {failure.stage}")
    return stage


def hook_contract_violations(ctx, kind: str) -> list:
    """The run's hooks that cannot act on what they are given (``facts/run/hook_probe.py``), of one
    kind, as violations; skipped when the run never reached ``before_train``."""
    result = ctx.run_result
    stage = result.stages.get("run", "")
    if stage.startswith("skipped"):
        raise FactUnavailable("run_result", f"the run tier did not run: {stage[len('skipped: '):]}")
    if getattr(result, "hook_contracts", None) is None:
        why = result.stages.get("hook_contracts") or result.stages.get("run") or "the training did not start"
        raise FactUnavailable("run_result", f"the hooks were not checked on the built objects: {why}")
    return [Violation(message=f["message"], key_path=f["key"], evidence={"hook": f["hook"], **f["evidence"]},
                      fix=f["fix"]) for f in result.hook_contracts if f["kind"] == kind]

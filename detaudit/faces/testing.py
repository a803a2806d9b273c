"""Assertions for a project's own test suite (pytest or plain ``assert``-style tests).

``assert_frozen(model_or_config, *modules)`` fails with an ``AssertionError`` whose message names
every trainable parameter count, the intent source and the fix, and the BatchNorm layers that
still update their statistics in training mode.
"""
from __future__ import annotations

import os

FREEZE_CODES = ("DA001", "DA002", "DA101", "DA102", "DA103")
LR_MULT_NOTE = ("an optimizer lr_mult=0 (paramwise_cfg) does not freeze: the parameters keep requires_grad=True, "
                "get gradients and their BatchNorm statistics still move")


def _is_module(obj) -> bool:
    return callable(getattr(obj, "named_parameters", None)) and callable(getattr(obj, "named_modules", None))


def _examples(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def assert_frozen(model_or_config, *modules: str, train_mode: bool = True, **audit_options) -> None:
    """Fail unless every named module of a built ``nn.Module``, or of the model a config builds,
    has no trainable parameter and no BatchNorm layer left in train mode.

    On an ``nn.Module``: the model is put in training mode (``model.train()``, which is where
    ``norm_eval`` and frozen stages act) for the check and restored afterwards (``train_mode=False``
    checks it as it is). On a config (path or mmengine ``Config``): the config is audited with
    DA101/DA102/DA103 and the modules as ``expect_frozen``, so the message also names the config's
    own freeze intents (``lr_mult=0``, ``frozen_stages``…); ``audit_options`` go to
    ``detaudit.audit`` (``input_size``, ``cfg_options``…). Inline ``# detaudit: ignore`` comments do
    not silence an explicit assertion.
    """
    __tracebackhide__ = True
    if not modules:
        raise TypeError("assert_frozen needs at least one module path, e.g. assert_frozen(model, 'backbone')")
    if _is_module(model_or_config):
        problems = _module_problems(model_or_config, modules, train_mode)
        subject = type(model_or_config).__name__
    else:
        problems, subject = _config_problems(model_or_config, modules, audit_options)
    if problems:
        raise AssertionError(f"assert_frozen({subject}, {', '.join(repr(m) for m in modules)}): "
                             f"{len(problems)} problem(s)\n" + "\n".join(problems))


def _module_problems(model, modules, train_mode: bool) -> list[str]:
    from torch.nn.modules.batchnorm import _BatchNorm

    from .api import check_frozen

    saved = {name: m.training for name, m in model.named_modules()}
    try:
        if train_mode:
            model.train()
        findings = check_frozen(model, *modules)
        named = dict(model.named_modules())
        intent = f"assert_frozen(model, {', '.join(repr(m) for m in modules)})"
        problems = []
        for f in findings:
            module = f.module_path or "?"
            sub = named.get(module)
            if f.code == "DA102" and sub is None:
                top = ", ".join(n for n, _ in model.named_children())
                problems.append(f"- {module}: no such module in {type(model).__name__} (top-level modules: {top})")
            elif f.code == "DA102":
                names = [f"{module}.{n}" for n, p in sub.named_parameters() if p.requires_grad]
                problems.append(
                    f"- {module}: {f.evidence.get('trainable', 0):,} of {f.evidence.get('total', 0):,} parameters are "
                    f"trainable ({len(names)} tensors with requires_grad=True: {_examples(names)})\n"
                    f"    intent: {intent}\n"
                    f"    fix: {f.fix}; {LR_MULT_NOTE}")
            elif f.code == "DA103":
                bns = [f"{module}.{n}" if n else module for n, m in sub.named_modules()
                       if isinstance(m, _BatchNorm) and m.training]
                mode = "after model.train()" if train_mode else "as the model is"
                problems.append(
                    f"- {module}: {len(bns)} BatchNorm layers are in train mode {mode}, so their running "
                    f"statistics change every iteration: {_examples(bns, 8)}\n"
                    f"    intent: {intent}\n"
                    f"    fix: {f.fix} (mmdet backbones: norm_eval=True; or call .eval() on them after every "
                    f"model.train())")
        return problems
    finally:
        for name, m in model.named_modules():
            if name in saved:
                m.training = saved[name]


def _config_problems(config, modules, audit_options) -> tuple[list[str], str]:
    from .api import audit

    options = dict(audit_options)
    options.setdefault("select", list(FREEZE_CODES))
    report = audit(config, expect_frozen=list(modules), expect_frozen_source="assert_frozen", **options)
    result = report.audits[0]
    subject = result.config if isinstance(config, (str, os.PathLike)) else repr(result.config)
    wanted = set(modules)

    def relevant(f) -> bool:
        if f.code in ("DA001", "DA002"):
            return True
        m = f.module_path or ""
        return any(m == w or m.startswith(w + ".") or w.startswith(m + ".") for w in wanted)

    problems = []
    for f in list(result.findings) + list(getattr(result, "suppressed", [])):
        if f.code not in FREEZE_CODES or not relevant(f):
            continue
        intent = f.evidence.get("intent_source") if isinstance(f.evidence, dict) else None
        lines = [f"- {f.location or result.config}: {f.code} {f.name}: {f.message}"]
        if intent:
            lines.append(f"    intent: {intent}" + (f" ({f.key_path})" if f.key_path else ""))
        if f.fix:
            lines.append(f"    fix: {f.fix}")
        problems.append("\n".join(lines))
    skipped = [s for s in result.skipped if s.get("code") in ("DA102", "DA103")
               and not str(s.get("reason", "")).startswith("tier ")]  # a tier the caller left out
    if not problems and skipped:
        problems = [f"- cannot check: {s['code']} was skipped ({s['reason']})" for s in skipped]
    return problems, subject

from collections import defaultdict

from detaudit.rule import Violation, rule


@rule(code="DA106", name="frozen-random-init", severity="error", tier="checkpoint",
      needs=("checkpoint", "freeze_intents", "params", "build_report", "seed_independent_params"))
def frozen_random_init(ctx):
    """Frozen parameters that no pretrained source covers: training builds on frozen random weights.

    ## What it does
    Takes every parameter with ``requires_grad=False`` after the model is built (by
    ``frozen_stages``, ``requires_grad=False`` norms, freeze hooks) and checks where its
    values come from: a ``Pretrained`` ``init_cfg`` on the module or one of its parents
    (declared in the config, even when the file is not cached here: DA205 covers that), or
    the ``load_from`` checkpoint, which must hold a tensor of that name and shape. A value
    that initialization sets on purpose is not random either: when ``init_weights()`` writes
    over the constructor's random values a value that does not depend on the seed (learned
    proposal boxes frozen at the whole image), the model is built again under another seed to
    tell. The rest is reported per top-level module, with the freeze that froze it.

    A semi-supervised teacher updated from the student by ``MeanTeacherHook`` is not
    reported: its weights move through the hook, not through gradients.

    ## Why is this bad?
    A frozen layer never changes: if it starts random it stays random, and every layer
    after it has to learn around noise. The usual cause is a ``frozen_stages`` kept from a
    base config while the ``Pretrained`` init or the ``load_from`` was removed or renamed.

    ## Example
    ```python
    model = dict(backbone=dict(frozen_stages=1, init_cfg=None))  # no load_from either
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(frozen_stages=1,
                               init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))
    ```
    """
    frozen = [p for p in ctx.params if not p.requires_grad]
    if not frozen:
        return
    pretrained = [r["module"] for r in ctx.build_report.pretrained]
    teacher_updated = _mean_teacher(ctx)

    def declared(name: str) -> bool:
        if teacher_updated and (name == "teacher" or name.startswith("teacher.")):
            return True
        return any(m == "" or name == m or name.startswith(m + ".") for m in pretrained)

    uncovered = [p for p in frozen if not declared(p.name)]
    if not uncovered:
        return
    load_from = ctx.cfg.get("load_from", None)
    if load_from:
        matched = ctx.checkpoint.matched  # unreadable or remote checkpoint: skipped, not guessed
        uncovered = [p for p in uncovered if p.name not in matched]
        if not uncovered:
            return
    constant = ctx.seed_independent_params  # set on purpose by init_weights(): not random
    uncovered = [p for p in uncovered if p.name not in constant]
    if not uncovered:
        return

    intents = {}
    for intent in ctx.freeze_intents:
        for name in intent.params:
            intents.setdefault(name, intent)
    by_module = defaultdict(list)
    for p in uncovered:
        by_module[p.name.split(".", 1)[0]].append(p)
    totals = defaultdict(int)
    for p in ctx.params:
        totals[p.name.split(".", 1)[0]] += p.numel
    for module, params in by_module.items():
        numel = sum(p.numel for p in params)
        parts = list(dict.fromkeys(p.name.split(".")[1] if p.name.count(".") > 1 else p.name.rsplit(".", 1)[0]
                                   for p in params))
        intent = next((intents[p.name] for p in params if p.name in intents), None)
        why = f" (frozen by {intent.source})" if intent else ""
        source = (f"load_from '{load_from}' does not hold them and no Pretrained init covers them" if load_from
                  else "there is no load_from and no Pretrained init covers them")
        yield Violation(
            message=f"{module}: {numel:,} frozen parameters ({', '.join(parts[:6])}{', ...' if len(parts) > 6 else ''})"
                    f"{why} keep their random initialization: {source}",
            key_path=(intent.key_path if intent and intent.key_path else f"model.{module}"),
            module_path=module,
            evidence={"frozen_uncovered": numel, "module_params": totals[module], "tensors": len(params),
                      "examples": [p.name for p in params[:5]], "load_from": load_from,
                      "intent_source": intent.source if intent else None},
            fix=f"give model.{module} a Pretrained init_cfg (or a load_from that holds it), or do not freeze it",
        )


def _mean_teacher(ctx) -> bool:
    for hook in ctx.cfg.get("custom_hooks", None) or []:
        if isinstance(hook, dict) and "MeanTeacher" in str(hook.get("type", "")):
            return True
    return False

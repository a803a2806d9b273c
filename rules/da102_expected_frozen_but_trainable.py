from detaudit.rule import Violation, rule


@rule(code="DA102", name="expected-frozen-but-trainable", severity="error", tier="build",
      needs=("freeze_intents", "model", "params"))
def expected_frozen_but_trainable(ctx):
    """A module that should be frozen still has trainable parameters.

    ## What it does
    Collects who says a module is frozen (``lr_mult=0`` in ``paramwise_cfg``,
    ``frozen_stages``, ``requires_grad=False`` in a ``norm_cfg``, a freeze hook in
    ``custom_hooks``, ``--expect-frozen``, the settings file or a pytest marker), builds the
    model, runs ``init_weights()`` and ``model.train()`` (the state training runs in), and
    counts the parameters of each such module that still have ``requires_grad=True``.

    ## Why is this bad?
    The module trains although the recipe says it does not: a stage-2 fine-tune that
    should keep stage-1 features moves them, memory and time go to gradients nobody
    wanted, and results do not mean what the paper says.

    ## Example
    ```python
    model = dict(backbone=dict(frozen_stages=1))          # stem + layer1 only
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.0)}))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(frozen_stages=4, norm_eval=True))
    ```
    """
    info = {p.name: p for p in ctx.params}
    intents = ctx.freeze_intents
    modules = dict(ctx.model.named_modules())
    partial = {i.module: i.detail for i in intents if i.scope == "stages" and i.detail}
    for intent in intents:
        if intent.module not in modules:
            yield Violation(message=f"{intent.module}: no such module in the model, so it cannot be frozen "
                                    f"(intent from {intent.source})",
                            key_path=intent.key_path, module_path=intent.module,
                            evidence={"intent_source": intent.source,
                                      "top_level_modules": [n for n, _ in ctx.model.named_children()]},
                            fix="name a module path of the built model, e.g. backbone or neck")
            continue
        live = [n for n in intent.params if n in info and info[n].requires_grad]
        if not live:
            continue
        prefix = intent.module + "."
        module_total = sum(p.numel for n, p in info.items() if n.startswith(prefix))
        trainable = sum(info[n].numel for n in live)
        if intent.scope == "all":
            trainable = sum(p.numel for n, p in info.items() if n.startswith(prefix) and p.requires_grad)
        what = {"all": "parameters", "norm": "norm-layer parameters",
                "stages": "parameters of the stages frozen_stages names"}[intent.scope]
        scope_total = module_total if intent.scope == "all" else sum(info[n].numel for n in intent.params if n in info)
        note = ""
        if intent.scope == "all" and intent.module in partial:
            note = f" ({partial[intent.module]})"
        yield Violation(
            message=f"{intent.module}: {trainable:,} of {scope_total:,} {what} are trainable although "
                    f"{intent.source} says it is frozen{note}",
            key_path=intent.key_path, module_path=intent.module,
            evidence={"trainable": trainable, "total": scope_total, "intent_source": intent.source,
                      "examples": live[:5]},
            fix=_fix(ctx, intent),
        )


def _fix(ctx, intent) -> str:
    backbone = getattr(ctx.model, "backbone", None)
    if intent.module == "backbone" and backbone is not None and hasattr(backbone, "res_layers"):
        return f"set model.backbone.frozen_stages={len(backbone.res_layers)} and norm_eval=True"
    return f"set requires_grad=False on {intent.module} before training and keep its norm layers in eval mode"

from collections import defaultdict

from detaudit.rule import FactUnavailable
from detaudit.rule import Violation, rule

# torch.optim.Optimizer.add_param_group refuses a parameter that is already in a group.
DUPLICATE_GROUP_ERROR = "some parameters appear in more than one parameter group"


@rule(code="DA303", name="optimizer-coverage", severity="error", tier="optimizer",
      needs=("model", "optim_wrapper", "param_lr", "params"))
def optimizer_coverage(ctx):
    """A trainable parameter is in no optimizer group, or a parameter is in several.

    ## What it does
    Builds the config's ``optim_wrapper`` over the model (with its own constructor and
    ``paramwise_cfg``) and checks every parameter against the optimizer's groups:

    - a parameter with ``requires_grad=True`` that no group holds gets gradients every
      step and is never updated;
    - a parameter held twice: in two groups torch refuses the optimizer outright (the
      build error is reported here, with the usual cause), within one group it is
      updated twice per step.

    A frozen parameter that sits in a group is *not* reported: mmengine's default
    constructor puts every parameter in a group (with ``paramwise_cfg`` one per parameter),
    and optimizers skip parameters without gradients, so it is normal and harmless.

    ## Why is this bad?
    A custom optimizer constructor that builds groups from a hand-written list of modules
    silently leaves out whatever was added later (a new head, an MSP block): the module is
    in the loss, costs backward time, and never learns. Shared (tied) weights registered
    under two modules break ``paramwise_cfg`` optimizers at start-up.

    ## Example
    ```python
    optim_wrapper = dict(constructor='HeadsOnlyConstructor',  # groups from roi_head only
                         optimizer=dict(type='SGD', lr=0.02))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02),
                         paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
    ```
    """
    try:
        param_lr = ctx.param_lr
    except FactUnavailable:
        err = ctx.errors.get("optimizer")
        if err is None or DUPLICATE_GROUP_ERROR not in err.message:
            raise
        shared = _shared_parameters(ctx.model)
        paramwise = ctx.config_value("optim_wrapper.paramwise_cfg", None) is not None
        detail = (f"; tied parameters registered under several modules: {', '.join(shared[:4])}" if shared else "")
        yield Violation(
            message=f"the optimizer does not build: {err.short()}{detail}",
            key_path="optim_wrapper.paramwise_cfg" if paramwise else "optim_wrapper",
            module_path=shared[0].split(" = ")[0].rsplit(".", 1)[0] if shared else None,
            evidence={"exception": err.type, "detail": err.message[:300], "shared_parameters": shared[:20]},
            fix="set optim_wrapper.paramwise_cfg.bypass_duplicate=True" if shared
            else "make the optimizer constructor put each parameter in one group only",
        )
        return

    trainable = [p for p in ctx.params if p.requires_grad]
    orphans = [p for p in trainable if p.name not in param_lr]
    if orphans:
        by_module = defaultdict(list)
        for p in orphans:
            by_module[_owner(p.name)].append(p)
        for module, params in _collapse(by_module, ctx.params).items():
            numel = sum(p.numel for p in params)
            yield Violation(
                message=f"{module}: {len(params)} trainable parameters ({numel:,} elements) are in no optimizer "
                        f"group: they get gradients and are never updated",
                key_path=_constructor_key(ctx), module_path=module,
                evidence={"parameters": len(params), "numel": numel, "examples": [p.name for p in params[:5]],
                          "groups": len(ctx.optim_wrapper.optimizer.param_groups)},
                fix=f"put {module} in a parameter group (or freeze it with requires_grad=False if it must not "
                    "train)",
            )
    twice = {n: info["groups"] for n, info in param_lr.items() if len(info["groups"]) > 1}
    if twice:
        names = sorted(twice)
        yield Violation(
            message=f"{len(names)} parameters appear more than once in the optimizer's groups and are updated "
                    f"several times per step (e.g. {', '.join(f'{n} in groups {twice[n]}' for n in names[:3])})",
            key_path=_constructor_key(ctx), module_path=_owner(names[0]) if len(names) == 1 else None,
            evidence={"parameters": names[:20], "groups": {n: twice[n] for n in names[:20]}},
            fix="make the optimizer constructor list each parameter once",
        )


def _owner(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _collapse(by_module: dict, params) -> dict:
    """Merge per-module lists into their top-level module when that whole module is missing."""
    all_by_top = defaultdict(set)
    for p in params:
        if p.requires_grad:
            all_by_top[p.name.split(".", 1)[0]].add(p.name)
    merged: dict = defaultdict(list)
    for module, ps in by_module.items():
        top = module.split(".", 1)[0]
        missing_in_top = {p.name for m, group in by_module.items() if m.split(".", 1)[0] == top for p in group}
        key = top if missing_in_top >= all_by_top[top] else module
        merged[key].extend(ps)
    return dict(merged)


def _constructor_key(ctx) -> str:
    if ctx.config_value("optim_wrapper.constructor", None) is not None:
        return "optim_wrapper.constructor"
    return "optim_wrapper"


def _shared_parameters(model) -> list[str]:
    """``a.weight = b.weight`` for parameters registered under more than one name."""
    seen, shared = {}, []
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            shared.append(f"{name} = {seen[id(p)]}")
        else:
            seen[id(p)] = name
    return shared

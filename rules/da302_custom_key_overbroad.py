from collections import defaultdict

from detaudit.rule.custom_keys import effective_custom_key
from detaudit.rule import Violation, rule

from detaudit.rule.custom_keys import custom_keys, designated_module


@rule(code="DA302", name="custom-key-overbroad", severity="warning", tier="build", needs=("params",))
def custom_key_overbroad(ctx):
    """A ``custom_keys`` key matches several differently named modules.

    ## What it does
    For each ``paramwise_cfg.custom_keys`` key, collects the modules it really applies to
    (mmengine matches keys as substrings and gives a parameter the longest matching key)
    and reports keys that land on two or more sibling components of the model whose names
    only contain the key: ``head`` applies to ``rpn_head`` *and* ``roi_head``, ``backbone``
    to ``backbone`` *and* ``backbone_ir``. Keys that name a family on purpose — ``norm``
    for ``norm1``/``norm2`` inside the layers of a backbone — are not reported: only the
    detector's components and their direct children are compared.

    ## Why is this bad?
    The multiplier reaches modules the author did not mean: a ``lr_mult=0.1`` meant for
    the RoI head also slows the RPN, a ``lr_mult=0`` meant to freeze one backbone stream
    freezes both.

    ## Example
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'roi_head': dict(lr_mult=10.0)}))
    ```
    """
    keys = custom_keys(ctx)
    if not keys:
        return
    sizes = {p.name: p.numel for p in ctx.params}
    # key -> parent module -> designated child module -> [params], and whether named exactly
    hits: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    exactness: dict[tuple[str, str], bool] = {}
    for name in sizes:
        key = effective_custom_key(name, keys)
        if key is None:
            continue
        found = designated_module(name, key)
        if found is None:
            continue
        module, exact = found
        parent = module.rpartition(".")[0]
        if parent.count(".") > 0:
            continue  # deeper than the detector's components and their children
        hits[key][parent][module].append(name)
        exactness[(key, module)] = exact
    for key, by_parent in hits.items():
        for parent, modules in by_parent.items():
            if len(modules) < 2 or all(exactness[(key, m)] for m in modules):
                continue
            listed = sorted(modules, key=lambda m: -sum(sizes[p] for p in modules[m]))
            parts = [f"{m} ({sum(sizes[p] for p in modules[m]):,} params)" for m in listed]
            where = f"under {parent}" if parent else "of the model"
            yield Violation(
                message=(f"custom key '{key}' applies to {len(modules)} differently named modules {where}: "
                         f"{', '.join(parts)}"),
                key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}",
                module_path=listed[0],
                evidence={"key": key, "modules": {m: len(modules[m]) for m in listed},
                          "numel": {m: sum(sizes[p] for p in modules[m]) for m in listed}},
                fix=f"name the module you mean in full (e.g. '{listed[0]}'), one key per module",
            )

from detaudit.rule import Violation, rule

from ._losses import group_by_module


@rule(code="DA501", name="param-outside-loss-graph", severity="error", tier="train",
      needs=("params", "step_result", "model"))
def param_outside_loss_graph(ctx):
    """Trainable parameters get no gradient from the total loss.

    ## What it does
    Runs one synthetic training step (backward of the summed loss) and lists the
    parameters with ``requires_grad=True`` whose ``.grad`` is still ``None``, grouped by the
    largest module that gets no gradient at all. Reported as ``info`` when the config sets
    ``find_unused_parameters=True`` (the run will not crash, but the parameters still do not
    learn).

    ## Why is this bad?
    Under DistributedDataParallel training stops at the first iteration with "Expected to
    have finished reduction in the prior iteration ... parameters that were not used in
    producing loss". On one GPU nothing complains: the module simply never learns. Typical
    causes are a head whose loss is never added to the loss dict, an output computed under
    ``torch.no_grad()`` or ``.detach()``, or a module that is built but never called.

    ## Example
    ```python
    model = dict(roi_head=dict(type='AuxRoIHead', aux_head=dict(type='AuxHead')))  # loss never uses it
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(type='StandardRoIHead'))  # or add the aux head's loss to the loss dict
    ```
    """
    step = ctx.step_result
    if not step.no_grad:
        return
    find_unused = bool(ctx.config_value("find_unused_parameters", False)
                       or ctx.config_value("model_wrapper_cfg.find_unused_parameters", False))
    sizes = {p.name: p.numel for p in ctx.params}
    for module, names in group_by_module(ctx, step.no_grad).items():
        numel = sum(sizes.get(n, 0) for n in names)
        whole = module not in sizes
        what = (f"{module}: all {len(names)} trainable parameters ({numel:,} elements) get no gradient"
                if whole else f"{module} gets no gradient ({numel:,} elements)")
        yield Violation(
            message=what + " from the total loss"
                    + ("; find_unused_parameters=True keeps DDP from failing, but they do not learn" if find_unused
                       else "; DistributedDataParallel will fail on them, and they never learn"),
            key_path=f"model.{module.split('.')[0]}", module_path=module,
            severity="info" if find_unused else None,
            evidence={"parameters": len(names), "numel": numel, "examples": names[:5],
                      "find_unused_parameters": find_unused},
            fix="add the module's loss to the loss dict, remove the module, or freeze it (requires_grad=False)",
        )

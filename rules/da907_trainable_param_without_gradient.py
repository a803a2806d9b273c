from detaudit.rule import Violation, rule


@rule(code="DA907", name="trainable-param-without-gradient", severity="warning", tier="training",
      needs=("grad_coverage",))
def trainable_param_without_gradient(ctx):
    """Trainable parameters received no gradient on the real training batches.

    ## What it does
    ``DetAuditHook`` notes every trainable parameter whose gradient is written by backward
    during the first ``check_iter`` iterations of the real training, on every process, and
    names once, grouped by module, those that never got one. (DA501 asks the same of one
    synthetic step before training; real data, real batch sizes and the wrapped model can
    answer differently.)

    ## Why is this bad?
    A parameter without a gradient does not learn: a branch the real batches never reach (a
    loss that returns nothing for single-modality samples, a head behind a condition that is
    never true), memory spent on optimizer state for nothing, and under
    ``MMDistributedDataParallel`` an error unless ``find_unused_parameters=True``, which
    costs time every iteration.

    ## Example
    ```python
    model = dict(roi_head=dict(domain_classifier=dict(type='DomainClassifier'), lambda3=0.1))
    # ... with a pipeline that drops the 'domain' metainfo: the branch returns no loss
    ```

    ## Use instead
    ```python
    # wire the branch into the loss, or freeze or remove it
    ```
    """
    cov = ctx.grad_coverage
    groups: dict[str, list[str]] = {}
    for name in cov.without_gradient:
        parts = name.split(".")
        groups.setdefault(".".join(parts[:2]) if len(parts) > 2 else parts[0], []).append(name)
    for module, names in sorted(groups.items()):
        yield Violation(
            message=f"{module}: {len(names)} trainable parameter(s) received no gradient in the first "
                    f"{cov.iterations} training iteration(s) (e.g. {', '.join(names[:3])})",
            module_path=module,
            evidence={"params": names[:20], "count": len(names), "iterations": cov.iterations,
                      "trainable": cov.trainable},
            fix=f"make {module} contribute to a logged loss on the training batches, or freeze it "
                "(requires_grad=False)")

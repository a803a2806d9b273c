from detaudit.rule import Violation, rule

from ._losses import params_in_loss_graph


@rule(code="DA503", name="module-never-called", severity="warning", tier="forward",
      needs=("loss_result", "model", "modules_called", "params_read", "predict_result", "params"))
def module_never_called(ctx):
    """A module with parameters runs in neither the loss nor the predict forward.

    ## What it does
    Records which modules execute while the model computes its losses and its predictions
    on a synthetic batch, and reports each module that owns parameters when neither it nor
    any of its submodules ran and none of its parameters was read by either pass: a
    weight read directly (an embedding's ``.weight`` in a ``bmm``, frozen or read only at
    predict time) counts as used. The largest such module is reported, not each of its
    children.

    ## Why is this bad?
    The module is registered, counted in the parameter total, saved in every checkpoint,
    and does nothing: typically a head added to the config whose forward the detector never
    calls, or whose loss hook returns nothing. Its parameters also get no gradient, which
    breaks DistributedDataParallel (DA501).

    ## Example
    ```python
    model = dict(roi_head=dict(type='AuxRoIHead', aux_head=dict(in_channels=64)))  # never called
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(type='StandardRoIHead'))  # or call aux_head in loss() and predict()
    ```
    """
    ctx.predict_result  # both forwards must have run in full: a failure makes this rule skipped
    ctx.loss_result
    called = ctx.modules_called
    in_graph = params_in_loss_graph(ctx) | ctx.params_read  # a weight read directly is used
    model = ctx.model
    names = {id(m): n for n, m in model.named_modules()}
    reported: list[str] = []
    for path, module in model.named_modules():
        if not path or any(path.startswith(r + ".") for r in reported):
            continue
        params = [(f"{path}.{n}", p) for n, p in module.named_parameters()]
        if not params:
            continue
        subtree = {names[id(m)] for m in module.modules() if id(m) in names}
        if subtree & called or any(n in in_graph for n, _ in params):
            continue
        reported.append(path)
        numel = sum(p.numel() for _, p in params)
        yield Violation(
            message=f"{path} ({type(module).__name__}, {numel:,} parameters) is built but runs in neither the "
                    "loss nor the predict forward",
            key_path=f"model.{path}", module_path=path,
            evidence={"type": type(module).__name__, "params": numel, "tensors": len(params),
                      "trainable": sum(p.numel() for _, p in params if p.requires_grad)},
            fix=f"call {path} in the detector's loss/predict path, or remove it from the config",
        )

from detaudit.rule import Violation, rule
from detaudit.rule.built_contracts import STATIC, built_breaches
from detaudit.rule.config import module_key


@rule(code="DA817", name="built-component-contract-violated", severity="error", tier="build", needs=("model",))
def built_component_contract_violated(ctx):
    """A head of the built model inherits an mmdet contract its config breaks, under a type name DA815 does not know.

    ## What it does
    Walks the built model's modules and applies, by ``isinstance``, the contracts of DA815
    that belong to what a class inherits: a head that keeps ``AnchorHead``'s, ``SSDHead``'s or
    ``BBoxHead``'s loss regresses encoded deltas unless ``reg_decoded_bbox=True``, so an
    IoU-family ``loss_bbox`` needs it; a head that keeps ``BBoxHead``'s prediction scores with
    a softmax, so its ``loss_cls`` must not be a sigmoid one; a head that keeps
    ``FCNMaskHead``'s loss needs ``use_mask=True``; an FCOS or ATSS subclass scores its
    one-channel centerness with a sigmoid. Only classes the static table does not name are
    read here (a project's own head, an mmdet head the table leaves out), so one mistake gives
    one finding. The evidence names the contract and the mmdet line that states it.

    ## Why is this bad?
    A project's head that subclasses an mmdet head inherits the code that relies on the
    contract: the mistake trains silently (an IoU between deltas, sigmoid training scored
    with a softmax) or fails inside the inherited loss.

    ## Example
    ```python
    custom_imports = dict(imports=['my_heads'])  # class MyRetinaHead(RetinaHead): ...
    model = dict(bbox_head=dict(type='MyRetinaHead', loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))
    ```

    ## Use instead
    ```python
    custom_imports = dict(imports=['my_heads'])
    model = dict(bbox_head=dict(type='MyRetinaHead', reg_decoded_bbox=True,
                                loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))
    ```
    """
    model = ctx.model
    for b in built_breaches(model):
        key = f"{module_key(ctx, b.module)}.{b.key}"
        contract = STATIC[b.contract]
        yield Violation(
            message=f"{key} = {b.have!r} breaks a contract of {b.module} ({contract.says}): {b.why}",
            key_path=key, module_path=b.module,
            evidence={"contract": contract.name, "mmdet_source": contract.source, "states": contract.quote,
                      "class": type(dict(model.named_modules())[b.module]).__name__, "value": b.have,
                      "expected": b.want},
            fix=f"set {key} to {b.want}")

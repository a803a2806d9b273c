import re

from detaudit.rule import Violation, rule

from detaudit.rule.config import type_name, walk_dicts

# Config keys that scale a loss term: loss_weight, lambda1 / lambda_cls, *_loss_weight,
# sup_weight / unsup_weight of the semi-supervised detectors.
WEIGHT_KEY = re.compile(r"^(loss_weight|lambda(_?\w+)?|\w+_loss_weight|(un)?sup_weight)$")


def _is_zero(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


@rule(code="DA504", name="zero-weight-loss", severity="warning", tier="build", needs=("model",))
def zero_weight_loss(ctx):
    """A loss term has weight 0.

    ## What it does
    Finds loss weights equal to zero: ``loss_weight=0`` in a loss config, a ``lambda*``
    or ``*_loss_weight`` coefficient of 0 under ``model``, ``sup_weight``/``unsup_weight``
    of 0 in semi-supervised detectors, and, in the built model, loss modules whose
    ``loss_weight`` attribute is 0 by their class default.

    ## Why is this bad?
    The term is computed and logged but multiplied by zero before it reaches the total
    loss: whatever only this loss trains (a contrastive projection head, a domain
    classifier, a mask branch) does not learn, while the logs show a loss value that
    looks alive. Zero is usually a leftover from an ablation.

    ## Example
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', lambda1=0.0, lambda2=0.5))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(type='MACLRoIHead', lambda1=1.0, lambda2=0.5))
    # or remove the branch (macl_head=None) if the ablation is meant to be off
    ```
    """
    seen = set()
    for path, node in walk_dicts(ctx.cfg.get("model", None), "model"):
        for key in list(node.keys()):
            if not isinstance(key, str) or not WEIGHT_KEY.match(key) or not _is_zero(node.get(key)):
                continue
            key_path = f"{path}.{key}"
            seen.add(key_path)
            what = type_name(node.get("type")) if key == "loss_weight" else None
            subject = f"{path.split('.')[-1]} ({what})" if what else key_path
            yield Violation(
                message=(f"{subject}: {key}=0, so this loss term adds nothing to the total loss; "
                         f"parameters only it trains will not learn"),
                key_path=key_path, module_path=_module_path(path, key),
                evidence={"key": key, "value": node.get(key), "loss_type": what},
                fix=f"set {key} to a positive weight, or remove the loss/branch if it is meant to be off",
            )
    model = ctx.model
    for name, module in model.named_modules():
        weight = getattr(module, "loss_weight", None)
        if not name or not _is_zero(weight):
            continue
        key_path = f"model.{name}.loss_weight"
        if key_path in seen:
            continue
        yield Violation(
            message=(f"{name} ({type(module).__name__}): loss_weight=0 by default, so this loss term adds nothing "
                     f"to the total loss"),
            key_path=f"model.{name}", module_path=name,
            evidence={"key": "loss_weight", "value": weight, "loss_type": type(module).__name__},
            fix=f"set model.{name}.loss_weight to a positive weight",
        )


def _module_path(path: str, key: str) -> str | None:
    """``model.roi_head.bbox_head.loss_cls`` -> ``roi_head.bbox_head.loss_cls`` (the loss
    module); a coefficient such as ``lambda1`` belongs to the module that holds it."""
    parts = path.split(".")[1:]
    return ".".join(parts) or None

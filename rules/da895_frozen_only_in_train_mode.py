import functools
import re

from detaudit.rule import Violation, rule
from detaudit.rule.config import module_key
from detaudit.rule.source import source_of

FREEZE_CALL = re.compile(r"\bself\._freeze_stages\(")


@functools.lru_cache(maxsize=128)
def freezes_only_in_train(cls) -> bool:
    """Whether a module class freezes its stages in ``train()`` and in no constructor of its
    hierarchy (read from the installed source): its weights still require grad when it is built."""
    if not callable(getattr(cls, "_freeze_stages", None)):
        return False
    in_train = in_init = False
    for klass in cls.__mro__:
        for name, flag in (("train", "in_train"), ("__init__", "in_init")):
            fn = klass.__dict__.get(name)
            if fn is None:
                continue
            try:
                text = source_of(fn)
            except (OSError, TypeError):
                continue
            if FREEZE_CALL.search(text or ""):
                if flag == "in_train":
                    in_train = True
                else:
                    in_init = True
    return in_train and not in_init


@rule(code="DA895", name="frozen-only-in-train-mode", severity="warning", tier="build", needs=("model",))
def frozen_only_in_train_mode(ctx):
    """A backbone freezes its stages only when switched to train mode, and DDP is told of no unused weights.

    ## What it does
    Finds modules of the built model whose weights are frozen (``frozen_stages``) by the class's
    ``train()`` and by none of its constructors (read from the installed source: Swin, Darknet,
    CSPDarknet, CSPNeXt, MobileNetV2, EfficientNet; ResNet freezes in its constructor too), and
    reports them when neither ``find_unused_parameters`` nor ``model_wrapper_cfg`` says that
    some weights get no gradient.

    ## Why is this bad?
    mmengine's Runner wraps the model in ``DistributedDataParallel`` when it builds it, before the
    training loop switches it to train mode. The frozen weights still required gradients when DDP
    registered them, so DDP waits for their gradients, and on more than one GPU the second
    iteration stops with "Expected to have finished reduction in the prior iteration before
    starting a new one". A one-GPU run shows nothing.

    ## Example
    ```python
    _base_ = 'mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py'
    model = dict(backbone=dict(frozen_stages=2))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py'
    model = dict(backbone=dict(frozen_stages=2))
    find_unused_parameters = True  # the frozen stages get no gradient under DDP
    ```
    """
    cfg = ctx.cfg
    wrapper = cfg.get("model_wrapper_cfg", None)
    if cfg.get("find_unused_parameters", False) or (hasattr(wrapper, "get") and wrapper.get("find_unused_parameters")):
        return
    seen = set()
    for name, module in ctx.model.named_modules():
        if not name or not freezes_only_in_train(type(module)):
            continue
        if any(name.startswith(s + ".") for s in seen):
            continue
        frozen = [n for n, p in module.named_parameters() if not p.requires_grad]
        if not frozen:
            continue
        seen.add(name)
        key = module_key(ctx, name)
        stages = getattr(module, "frozen_stages", None)
        yield Violation(
            message=(f"{name} ({type(module).__name__}) freezes {len(frozen)} weights (frozen_stages={stages}) only when "
                     "switched to train mode, after mmengine has wrapped it in DistributedDataParallel: on more than "
                     "one GPU, DDP waits for their gradients and the second iteration stops (\"Expected to have "
                     "finished reduction in the prior iteration\"); find_unused_parameters is not set"),
            key_path="find_unused_parameters", module_path=name,
            evidence={"module": type(module).__name__, "frozen_weights": len(frozen), "frozen_stages": stages,
                      "configured_at": key, "examples": frozen[:5]},
            fix="set find_unused_parameters = True at the top level of the config for multi-GPU training")

from detaudit.rule.checkpoints import describe_mismatches
from detaudit.rule import Violation, rule


@rule(code="DA204", name="head-reinit-by-shape", severity="info", tier="checkpoint", needs=("checkpoint",))
def head_reinit_by_shape(ctx):
    """Class-dependent layers of the ``load_from`` checkpoint do not fit and restart from random.

    ## What it does
    Matches the checkpoint against the model (after mmengine's key revision) and, when the
    only tensors whose shapes differ are class-dependent (``fc_cls``, ``fc_reg`` with
    per-class boxes, ``conv_cls``, ``retina_cls``, ``conv_logits``, ``cls_branches``, or any
    layer whose output size is the module's ``num_classes``, +1 or x4), lists them with both
    shapes and the checkpoint's classes.

    ## Why is this bad?
    It usually is not: fine-tuning a COCO detector on your own classes does exactly this,
    and mmengine skips those tensors with a warning. It is reported (as information) so that
    the reinitialization is a visible, deliberate choice, and so that an unintended
    ``num_classes`` change is noticed before the run.

    ## Example
    ```python
    load_from = 'checkpoints/faster_rcnn_coco.pth'  # 80 classes
    model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
    ```

    ## Use instead
    ```python
    # the same, knowingly: the class head is new, everything else is loaded
    load_from = 'checkpoints/faster_rcnn_coco.pth'
    model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
    ```
    """
    view = ctx.checkpoint
    if not view.mismatched or not all(m.class_dependent for m in view.mismatched):
        return
    modules = sorted({m.key.rsplit(".", 1)[0] for m in view.mismatched})
    owner = _common_prefix(modules)
    classes = f" (the checkpoint's classes: {', '.join(view.classes[:10])}" \
              f"{', ...' if len(view.classes) > 10 else ''})" if view.classes else ""
    yield Violation(
        message=f"{len(view.mismatched)} class-dependent tensors differ in shape from load_from and restart from "
                f"random: {describe_mismatches(view.mismatched, limit=4)}{classes}",
        key_path="load_from", module_path=owner or None,
        evidence={"checkpoint": view.source, "shape_mismatches": [m.to_dict() for m in view.mismatched],
                  "checkpoint_classes": list(view.classes or [])},
        fix="nothing to do if num_classes changed on purpose; otherwise set num_classes to the checkpoint's")


def _common_prefix(names):
    parts = [n.split(".") for n in names]
    out = []
    for group in zip(*parts):
        if len(set(group)) != 1:
            break
        out.append(group[0])
    return ".".join(out)

from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA723", name="best-rule-contradicts-metric", severity="warning", tier="run", needs=("run_result",))
def best_rule_contradicts_metric(ctx):
    """``CheckpointHook``'s or ``EarlyStoppingHook``'s ``rule`` ranks a metric against its plain direction.

    ## What it does
    For ``save_best`` and ``monitor`` with an explicit ``rule``, reads the metric's name the way
    the hooks infer a rule when none is given (``mAP``, ``AR@``, ``acc``, ``precision``, ``PQ``...
    are better higher; ``loss``, ``error``, miss rates are better lower) and reports a rule that
    says the opposite. Names that mix both, or name neither, are left alone. Whether the metric
    exists at all is DA709's and DA714's.

    ## Why is this bad?
    An explicit rule overrides the hook's own inference: ``rule='less'`` on ``coco/bbox_mAP``
    keeps the worst checkpoint as ``best_coco_bbox_mAP_epoch_N.pth``, and an
    ``EarlyStoppingHook`` counts every improvement as a worsening and stops after ``patience``
    validations. Nothing warns.

    ## Example
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='coco/bbox_mAP', rule='less'))
    ```

    ## Use instead
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='coco/bbox_mAP', rule='greater'))
    ```

    ## References
    - mmengine ``CheckpointHook._init_rule``, ``EarlyStoppingHook._init_rule``
    """
    yield from hook_contract_violations(ctx, "rule")

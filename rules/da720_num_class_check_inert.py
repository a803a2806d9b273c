from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA720", name="num-class-check-inert", severity="warning", tier="run", needs=("run_result",))
def num_class_check_inert(ctx):
    """``NumClassCheckHook`` is registered, but its dataset has no ``classes`` to check against.

    ## What it does
    On the training and validation datasets the Runner built (wrappers included, as the hook
    reads them), checks that ``metainfo['classes']`` exists.

    ## Why is this bad?
    Without ``classes`` the hook logs one warning and checks nothing: the config looks protected
    against a ``num_classes`` that does not match the data, and is not.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='MyDataset', ann_file='train.pkl'))  # no METAINFO, no metainfo
    custom_hooks = [dict(type='NumClassCheckHook')]
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='MyDataset', ann_file='train.pkl', metainfo=dict(classes=('cat', 'dog'))))
    custom_hooks = [dict(type='NumClassCheckHook')]
    ```

    ## References
    - mmdet ``NumClassCheckHook._check_head``
    """
    yield from hook_contract_violations(ctx, "metainfo")

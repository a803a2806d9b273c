from detaudit.rule import rule
from detaudit.rule.run import hook_contract_violations


@rule(code="DA718", name="hook-dataset-unreachable", severity="error", tier="run", needs=("run_result",))
def hook_dataset_unreachable(ctx):
    """A hook acts on the training dataset, but the dataset it is given (a wrapper) lacks what it uses.

    ## What it does
    Hooks reach the training dataset as ``runner.train_dataloader.dataset``: the outermost
    dataset, a wrapper (``RepeatDataset``, ``ClassBalancedDataset``, ``ConcatDataset``) when there
    is one. On the built dataset, checks what each hook's code uses: ``PipelineSwitchHook``
    assigns ``dataset.pipeline``, ``YOLOXModeSwitchHook`` calls
    ``dataset.update_skip_type_keys`` (only ``MultiImageMixDataset`` has it). Reports the hook,
    the wrappers and where the attribute really is.

    ## Why is this bad?
    ``PipelineSwitchHook`` on a ``RepeatDataset`` sets a ``pipeline`` attribute the wrapper never
    reads: the switch silently does nothing and the second training stage never happens.
    ``YOLOXModeSwitchHook`` on a wrapper raises ``AttributeError`` at its switch epoch, near the
    end of a long training.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='RepeatDataset', times=3, dataset=dict(type='CocoDataset', ...)))
    custom_hooks = [dict(type='PipelineSwitchHook', switch_epoch=280, switch_pipeline=train_pipeline_stage2)]
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='CocoDataset', ...))  # the epochs in train_cfg instead of times
    custom_hooks = [dict(type='PipelineSwitchHook', switch_epoch=280, switch_pipeline=train_pipeline_stage2)]
    ```

    ## References
    - mmdet ``PipelineSwitchHook.before_train_epoch``, ``YOLOXModeSwitchHook.before_train_epoch``
    - ``docs/hook-contracts.md``
    """
    yield from hook_contract_violations(ctx, "dataset")

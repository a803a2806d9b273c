from detaudit.rule import Violation, rule

from detaudit.rule.config import is_mapping, type_name, walk_dicts

SYNC_TYPES = ("SyncBN", "SyncBatchNorm", "MMSyncBN", "NaiveSyncBatchNorm")


@rule(code="DA105", name="syncbn-norm-eval", severity="warning", tier="static")
def syncbn_norm_eval(ctx):
    """A module asks for SyncBN and also for ``norm_eval=True``.

    ## What it does
    Finds module configs under ``model`` whose ``norm_cfg`` type is ``SyncBN`` (or another
    synchronized BatchNorm) while the same module sets ``norm_eval=True``.

    ## Why is this bad?
    ``norm_eval=True`` keeps the module's BatchNorm layers in eval mode during training:
    they normalize with their stored running statistics and never compute batch
    statistics, so there is nothing to synchronize across GPUs. The config pays for a
    process-group-dependent layer (it cannot run without ``torch.distributed``) and reads
    as if batch statistics were shared, while the layers behave as frozen BatchNorm.

    ## Example
    ```python
    model = dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=True))
    ```

    ## Use instead
    ```python
    # frozen statistics: plain BN is enough
    model = dict(backbone=dict(norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True))
    # or shared batch statistics: let them train
    model = dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True), norm_eval=False))
    ```
    """
    for path, node in walk_dicts(ctx.cfg.get("model", None), "model"):
        norm = node.get("norm_cfg", None)
        if not is_mapping(norm) or type_name(norm.get("type")) not in SYNC_TYPES:
            continue
        if node.get("norm_eval", False) is not True:
            continue
        yield Violation(
            message=(f"{path} uses {type_name(norm.get('type'))} with norm_eval=True: its BatchNorm layers stay in "
                     f"eval mode, so no batch statistics are ever synchronized"),
            key_path=f"{path}.norm_eval",
            evidence={"norm_cfg": type_name(norm.get("type")), "norm_eval": True,
                      "module_type": type_name(node.get("type"))},
            fix="use norm_cfg=dict(type='BN') with norm_eval=True, or keep SyncBN and set norm_eval=False",
        )

from detaudit.rule import Violation, rule

from ._pretrained import other_sources


@rule(code="DA202", name="no-pretrained-source", severity="warning", tier="static",
      needs=("pretrained_sources", "source_map"))
def no_pretrained_source(ctx):
    """Training starts from random weights: no ``load_from`` and no ``Pretrained`` init.

    ## What it does
    Looks for any source of pretrained weights in the config: ``load_from``, an
    ``init_cfg=dict(type='Pretrained', ...)`` anywhere under ``model``, an ``init_cfg``
    that names a ``checkpoint`` for a backbone that loads it itself, a legacy
    ``pretrained=`` argument, or a language model loaded by name (``bert-base-uncased``).
    ``resume=True`` counts as one (the run continues from the latest checkpoint of its
    work_dir). Reports the config when there is none; fragments without a ``model`` are
    not checked.

    ## Why is this bad?
    Detectors are almost always fine-tuned from an ImageNet backbone or a detection
    checkpoint. A missing source is usually an accident of inheritance (a child replaced
    ``backbone`` with ``_delete_=True`` and dropped its ``init_cfg``), and the run only
    shows it by converging slowly to a worse result. From-scratch recipes exist (GN+WS,
    longer schedules): for those this is the expected state.

    ## Example
    ```python
    model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50))  # init_cfg dropped
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(_delete_=True, type='ResNet', depth=50,
                               init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))
    ```
    """
    model = ctx.config_value("model", None)
    if not hasattr(model, "keys"):
        return  # a fragment (datasets, schedule, TTA settings) that trains nothing by itself
    if ctx.pretrained_sources or other_sources(model, "model"):
        return
    if ctx.config_value("resume", False):
        return
    yield Violation(
        message="no pretrained weights: load_from is not set and no module has a Pretrained init_cfg, "
                "so training starts from random initialization",
        key_path="load_from" if "load_from" in ctx.source_map.keys() else None,
        evidence={"load_from": ctx.config_value("load_from", None), "pretrained_inits": 0},
        fix="set load_from to a detection checkpoint, or give the backbone "
            "init_cfg=dict(type='Pretrained', checkpoint=...)",
    )

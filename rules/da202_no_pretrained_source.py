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
    not checked. When the backbone also keeps part of itself fixed (``frozen_stages`` of 0 or
    more, ``norm_cfg.requires_grad=False``, ``norm_eval=True``), the finding is an error on
    ``model.backbone.init_cfg``: those random values are never trained (DA106 counts them on the
    built model).

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
    message = ("no pretrained weights: load_from is not set and no module has a Pretrained init_cfg, "
               "so training starts from random initialization")
    v = Violation(
        message=message, key_path="load_from" if "load_from" in ctx.source_map.keys() else None,
        evidence={"load_from": ctx.config_value("load_from", None), "pretrained_inits": 0},
        fix="set load_from to a detection checkpoint, or give the backbone "
            "init_cfg=dict(type='Pretrained', checkpoint=...)",
    )
    frozen = _freezes(model.get("backbone", None))
    if frozen:  # random values kept for good: an error, and the key is the backbone's missing init
        v.message = f"{message}, and the backbone keeps part of it fixed: {'; '.join(frozen)}"
        v.key_path, v.severity = "model.backbone.init_cfg", "error"
        v.evidence["frozen"] = frozen
    yield v


def _freezes(backbone) -> list[str]:
    """What a backbone's config keeps from training: frozen stages, norm weights, norm statistics."""
    if not hasattr(backbone, "get"):
        return []
    found = []
    stages = backbone.get("frozen_stages", None)
    if isinstance(stages, int) and not isinstance(stages, bool) and stages >= 0:
        found.append(f"model.backbone.frozen_stages={stages} freezes the stem"
                     + (f" and the first {stages} stage(s)" if stages else "") + " at their random values")
    norm = backbone.get("norm_cfg", None)
    if hasattr(norm, "get") and norm.get("requires_grad", True) is False:
        found.append("model.backbone.norm_cfg.requires_grad=False keeps the norm layers' weights at their initial values")
    kind = str(norm.get("type", "BN")) if hasattr(norm, "get") else "BN"  # ResNet's default norm is BN
    if backbone.get("norm_eval", False) is True and "BN" in kind:  # (GN and LN keep no statistics)
        found.append("model.backbone.norm_eval=True keeps the BatchNorm statistics at their initial values")
    return found

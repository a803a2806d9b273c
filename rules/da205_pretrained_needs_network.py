from detaudit.rule import Violation, rule


@rule(code="DA205", name="pretrained-needs-network", severity="warning", tier="static",
      needs=("pretrained_sources",))
def pretrained_needs_network(ctx):
    """A pretrained source must be downloaded: it is not in the local cache.

    ## What it does
    Lists every pretrained source of the config (``load_from``, ``init_cfg`` of type
    ``Pretrained``, legacy ``pretrained=``) that is a URL or a scheme such as
    ``torchvision://`` or ``open-mmlab://``, and looks it up in the local caches (torch hub
    and mmengine checkpoint folders) without any network access.

    ## Why is this bad?
    Offline clusters and sandboxed CI fail at the download; elsewhere the run silently
    depends on a remote file. For a stage that should start from your own checkpoint, a
    remote ImageNet init is often a sign the real source was lost.

    ## Example
    ```python
    model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))
    ```

    ## Use instead
    ```python
    model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet50.pth')))
    ```
    """
    for src in ctx.pretrained_sources:
        if not src.remote or src.available:
            continue
        module = None
        if src.kind != "load_from":
            parts = src.key_path.split(".")
            stop = parts.index("init_cfg") if "init_cfg" in parts else len(parts) - 1
            module = ".".join(parts[1:stop]) or None
        yield Violation(
            message=f"{src.key_path} = '{src.source}' is not in the local cache: training will try to download it",
            key_path=src.key_path, module_path=module,
            evidence={"source": src.source, "kind": src.kind},
            fix="download it once into the torch hub cache (~/.cache/torch/hub/checkpoints) or point the config "
                "at a local file",
        )

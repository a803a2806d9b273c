from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.packages import (custom_imports, installed, is_optional_package, local_module_path, missing_package,
                                    pip_name, scoped_type_packages)


def import_needs(ctx) -> list[tuple[str, str, tuple | None]]:
    """(key path or what names it, package, (file, line) or None) for custom imports whose
    top-level package is an optional dependency that is not installed (and not a folder of
    the launch directory), and for ``_base_`` entries such as
    ``'mmpretrain::_base_/models/convnext.py'`` whose package is missing."""
    out = []
    for base, file, line in ctx.source_map.unresolved:
        scope = base.split("::", 1)[0] if "::" in base else None
        if scope and not installed(scope):
            out.append((f"_base_ '{base}'", scope, (file, line)))
    for i, module in enumerate(custom_imports(ctx)[0]):
        top = module.split(".")[0]
        if is_optional_package(top) and not installed(top) and local_module_path(top, ctx.base_dir) is None:
            out.append((f"custom_imports.imports.{i}", top, None))
    return out


@rule(code="DA006", name="missing-optional-dependency", severity="error", tier="build",
      needs=("build_error", "source_map"))
def missing_optional_dependency(ctx):
    """The config needs a package that is not installed.

    ## What it does
    Names the package a config needs and this environment lacks: a ``custom_imports``
    entry from a package that is not installed (``mmpretrain.models``), a ``_base_`` file
    from such a package (``'mmpretrain::...'``), a scoped type such as
    ``type='mmpretrain.ConvNeXt'``, or a model build that fails because a module
    could not import its dependency (``lap`` for ByteTrack, ``detectron2`` for the
    Detectron2 wrapper, ``transformers`` for GLIP and Grounding DINO, ``mmpretrain`` for
    re-identification heads). Build failures explained this way are reported here and
    not again as DA002.

    ## Why is this bad?
    The job fails at start-up, or, with ``allow_failed_imports=True``, later with a
    registry error that does not mention the missing package at all.

    ## Example
    ```python
    custom_imports = dict(imports=['mmpretrain.models'], allow_failed_imports=False)
    model = dict(backbone=dict(type='mmpretrain.ConvNeXt', arch='tiny'))
    # mmpretrain is not installed in the training image
    ```

    ## Use instead
    ```python
    # pip install mmpretrain (pin it next to mmdet in the training image's requirements)
    custom_imports = dict(imports=['mmpretrain.models'], allow_failed_imports=False)
    model = dict(backbone=dict(type='mmpretrain.ConvNeXt', arch='tiny'))
    ```
    """
    needs: dict[str, list[str]] = {}
    locations: dict[str, tuple] = {}
    for key, package, where in import_needs(ctx):
        needs.setdefault(package, []).append(key)
        if where:
            locations[key] = where
    try:
        cfg = ctx.cfg
    except FactUnavailable:
        cfg = None
        if not needs:
            raise  # nothing to say without the config: skipped, not passed
    if cfg is not None:
        for key, package in scoped_type_packages(cfg.get("model", None), "model"):
            needs.setdefault(package, []).append(key)
        try:
            err = ctx.build_error
        except FactUnavailable:
            if "load" not in ctx.errors:
                raise  # the build was not attempted (tier, --no-exec, timeout): skipped, not passed
            err = None
        package = missing_package(err.message) if err is not None else None
        if package:
            needs.setdefault(package, []).append("model")
    for package, keys in needs.items():
        keys = list(dict.fromkeys(keys))
        where = ", ".join(keys[:4]) + (" ..." if len(keys) > 4 else "")
        file, line = locations.get(keys[0], (None, None))
        detail = ""
        build = ctx.errors.get("build")
        if build is not None and missing_package(build.message) == package:
            detail = f"; the model fails to build: {' '.join(build.short().split())}"
        yield Violation(
            message=f"the config needs the package '{package}', which is not installed (needed by {where}){detail}",
            key_path=None if file else keys[0], file=file, line=line,
            evidence={"package": package, "pip": pip_name(package), "needed_by": keys},
            fix=f"pip install {pip_name(package)} (or mim install {package} for OpenMMLab packages)"
            if package.startswith("mm") else f"pip install {pip_name(package)}",
        )

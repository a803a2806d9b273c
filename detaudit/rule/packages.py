"""Which installable package a config needs, and whether an error means it is missing.
Shared by DA002, DA005 and DA006 (not a rule module)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from ..errors import FactUnavailable

# import name -> what ``pip install`` wants
PIP_NAMES = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "detectron2": "detectron2",
    "mmcls": "mmcls",
    "clip": "openai-clip",
    "panopticapi": "panopticapi (git+https://github.com/cocodataset/panopticapi.git)",
    "cityscapesscripts": "cityscapesscripts",
}
# pip name -> import name, where they differ
IMPORT_NAMES = {"scikit-learn": "sklearn", "scikit-image": "skimage", "opencv-python": "cv2", "pillow": "PIL"}
# Packages that MMDetection configs use optionally; a missing one is a missing dependency,
# not a typo in the config.
OPTIONAL_PACKAGES = {
    "mmpretrain", "mmcls", "mmseg", "mmtrack", "mmyolo", "mmrotate", "mmocr", "mmpose", "mmaction",
    "mmdet3d", "mmrazor", "mmagic", "mmfewshot", "detectron2", "lap", "transformers", "timm",
    "fairscale", "sklearn", "skimage", "motmetrics", "nltk", "emoji", "clip", "panopticapi", "lvis",
    "cityscapesscripts", "dsdl", "scipy", "shapely", "pycocotools", "terminaltables", "imagecorruptions",
    "albumentations", "instaboostfast", "mmcv", "mmengine", "torchvision", "open_clip",
}
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NOT_INSTALLED = re.compile(r"\b([A-Za-z][\w-]*) (?:is|are) not installed", re.I)
_PIP_INSTALL = re.compile(r"\b(?:pip|mim) install\s+[\"'`]?([A-Za-z][\w.-]*)")
_INSTALL_FIRST = re.compile(r"\bPlease install ([A-Za-z][\w-]*)", re.I)


def custom_imports(ctx) -> tuple[list[str], bool]:
    """(imports, allow_failed_imports) from the loaded config, or from the syntax tree when
    the config does not load (a failing custom import is a common reason it does not)."""
    try:
        value = ctx.config_value("custom_imports", None)
    except FactUnavailable:
        if "load" not in ctx.errors:
            raise
        value = ctx.source_map.literal("custom_imports", None)
    if not hasattr(value, "get"):
        return [], False
    imports = value.get("imports", None)
    if isinstance(imports, str):
        imports = [imports]
    return [m for m in imports or [] if isinstance(m, str)], bool(value.get("allow_failed_imports", False))


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def pip_name(module: str) -> str:
    top = module.split(".")[0]
    return PIP_NAMES.get(top, top)


def local_module_path(module: str, base_dir: Path) -> Path | None:
    """Where ``module`` lies under the launch directory, if it does (a package folder or a
    ``.py`` file): importable only when that directory is on ``PYTHONPATH``."""
    rel = Path(*module.split("."))
    for candidate in (base_dir / rel / "__init__.py", base_dir / rel.with_suffix(".py"), base_dir / rel):
        if candidate.exists():
            return candidate
    return None


def is_optional_package(top: str) -> bool:
    return top in OPTIONAL_PACKAGES or top.startswith("mm")


def missing_package(message: str) -> str | None:
    """The package an error message says is missing, if it says so and that package is
    really not installed here (``pip install nltk`` advice about an installed package is
    not a missing dependency). Lower-case import/pip name, or None."""
    if not message:
        return None
    for m in _NO_MODULE.finditer(message):
        top = m.group(1).split(".")[0]
        if not installed(top):
            return top
    for pattern, trusted in ((_PIP_INSTALL, True), (_NOT_INSTALLED, False), (_INSTALL_FIRST, False)):
        for m in pattern.finditer(message):
            name = m.group(1).rstrip(".").lower()
            if name in ("openmim", "mim", "it", "them"):
                continue
            if not trusted and name not in OPTIONAL_PACKAGES:
                continue  # "the package is not installed": a word, not a package name
            imports = {name, name.replace("-", "_"), IMPORT_NAMES.get(name, name)}
            if not any(installed(c) for c in imports if c.isidentifier()):
                return name
    return None


def scoped_type_packages(node, path: str = "model"):
    """(key path, package) for ``type='mmpretrain.ConvNeXt'``-style types whose scope
    package is not installed."""
    if hasattr(node, "keys") and hasattr(node, "get"):
        t = node.get("type", None)
        if isinstance(t, str) and "." in t:
            scope = t.split(".")[0]
            if is_optional_package(scope) and not installed(scope):
                yield f"{path}.type", scope
        for k in list(node.keys()):
            yield from scoped_type_packages(node[k], f"{path}.{k}")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from scoped_type_packages(v, f"{path}.{i}")


def build_error_package(ctx) -> str | None:
    """The missing package that explains the model build failure, if one does (DA002 leaves
    such failures to DA006)."""
    err = ctx.errors.get("build")
    if err is None:
        return None
    return missing_package(err.message)

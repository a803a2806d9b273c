"""mmengine's model-index lookup, read once per process.

To find the file behind a base such as ``mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py``,
mmengine first reads the package's ``.mim/model-index.yml`` and every metafile it lists (a hundred
YAML files for mmdet), then falls back to ``.mim/configs/<path>`` when no metafile names the
config, which is the usual case. It does so for every such base of every config it loads: about
0.3 s each time, more than the synthetic forward pass of a small model. :func:`remember` makes
mmengine's lookup read the metafiles once per package and keep the table they give (read again
if ``model-index.yml`` changes); what the lookup returns, or raises, is what mmengine's would.
"""
from __future__ import annotations

import os
import re
import warnings

_tables: dict[str, tuple[float, dict]] = {}  # package path -> (mtime of its model-index.yml, config name -> entry)
_names: dict[str, tuple[float, dict | None]] = {}  # package path -> (mtime, config names read from the text, in order)
_CONFIG_MENTION = re.compile(r"\bConfig\s*:")
_CONFIG_LINE = re.compile(r"""\s*(?:-\s+)?Config\s*:\s*(['"]?)([^'"\s#]+)\1\s*(?:#.*)?""")


def _table(package_path: str) -> dict:
    from mmengine.fileio import load

    index_path = os.path.join(package_path, ".mim", "model-index.yml")
    mtime = os.stat(index_path).st_mtime
    kept = _tables.get(package_path)
    if kept is not None and kept[0] == mtime:
        return kept[1]
    table: dict = {}
    for meta_path in load(index_path)["Import"]:
        for model in load(os.path.join(package_path, ".mim", meta_path))["Models"]:
            if "Config" not in model:
                warnings.warn(f"There is not `Config` define in {model}")
                continue
            table.setdefault(model["Config"].partition("/")[-1], model)  # the first weights of a config
    _tables[package_path] = (mtime, table)
    return table


def _config_names(package_path: str) -> dict | None:
    """The names the table would have, read from the metafiles' text without parsing them as YAML
    (a fifth of the time): every line that mentions a ``Config:`` key must be a plain
    ``Config: <path>`` entry, else None (parse them)."""
    from mmengine.fileio import load

    index_path = os.path.join(package_path, ".mim", "model-index.yml")
    mtime = os.stat(index_path).st_mtime
    kept = _names.get(package_path)
    if kept is not None and kept[0] == mtime:
        return kept[1]
    names: dict | None = {}  # ordered as mmengine's table, whose keys its error message lists
    for meta_path in load(index_path)["Import"]:
        with open(os.path.join(package_path, ".mim", meta_path), encoding="utf-8") as f:
            for line in f:
                if not _CONFIG_MENTION.search(line):
                    continue
                plain = _CONFIG_LINE.fullmatch(line.rstrip("\n"))
                if plain is None:
                    names = None
                    break
                names.setdefault(plain.group(2).partition("/")[-1])
        if names is None:
            break
    _names[package_path] = (mtime, names)
    return names


def cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    """mmengine's ``_get_cfg_metainfo``, from the remembered table. mmengine asks it for every
    ``scope::path`` base and almost never finds the name (the usual base is found under
    ``.mim/configs``): the names alone, read from the metafiles' text, answer that."""
    names = _config_names(package_path)
    if names is not None and cfg_path not in names:
        raise ValueError(f"Expected configs: {names.keys()}, but got {cfg_path}")
    table = _table(package_path)
    if cfg_path not in table:
        raise ValueError(f"Expected configs: {table.keys()}, but got {cfg_path}")
    return table[cfg_path]


def mmengine_lookup():
    """mmengine's own ``_get_cfg_metainfo``, routed or not."""
    from mmengine.config import utils

    return _replaced.get("lookup", utils._get_cfg_metainfo)


_replaced: dict = {}


def remember() -> None:
    """Route mmengine's lookup through the remembered tables, and its package checks through
    :func:`is_installed` and :func:`get_installed_path` (once; idempotent)."""
    from mmengine.config import config, utils

    if utils._get_cfg_metainfo is not cfg_metainfo:
        _replaced["lookup"] = utils._get_cfg_metainfo
        utils._get_cfg_metainfo = cfg_metainfo
    for name, ours in (("is_installed", is_installed), ("get_installed_path", get_installed_path)):
        if getattr(config, name, None) is not ours:
            _replaced[name] = getattr(config, name)
            setattr(config, name, ours)


def is_installed(package: str) -> bool:
    """mmengine's ``is_installed`` without ``pkg_resources`` (importing and reloading it is a
    tenth of a second per base): a distribution of that name, else an importable module."""
    import importlib.util
    from importlib import metadata

    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - an odd name or a broken distribution: mmengine's answer
        return _replaced["is_installed"](package)
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """mmengine's ``get_installed_path`` for a distribution whose package folder sits where the
    distribution is installed (the usual case); anything else goes mmengine's way."""
    from importlib import metadata

    try:
        location = str(metadata.distribution(package).locate_file(""))
    except Exception:  # noqa: BLE001 - not a distribution, or an odd one: mmengine's answer
        return _replaced["get_installed_path"](package)
    candidate = os.path.join(location, package)
    return candidate if os.path.exists(candidate) else _replaced["get_installed_path"](package)

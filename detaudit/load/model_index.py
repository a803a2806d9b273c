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
import warnings

_tables: dict[str, tuple[float, dict]] = {}  # package path -> (mtime of its model-index.yml, config name -> entry)


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


def cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    """mmengine's ``_get_cfg_metainfo``, from the remembered table."""
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
    """Route mmengine's lookup through the remembered tables (once; idempotent)."""
    from mmengine.config import utils

    if utils._get_cfg_metainfo is not cfg_metainfo:
        _replaced["lookup"] = utils._get_cfg_metainfo
        utils._get_cfg_metainfo = cfg_metainfo

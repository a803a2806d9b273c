"""Pretrained weight sources: where a config says weights come from, and whether they
are on this machine. Never downloads: remote sources are looked up in local caches."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..rule.config import type_name

REMOTE_PREFIXES = ("http://", "https://", "torchvision://", "open-mmlab://", "openmmlab://",
                   "mmcls://", "mmpretrain://", "pavi://", "s3://", "modelzoo://")


@dataclass
class Source:
    key_path: str          # where the config names it
    source: str            # as written
    kind: str              # "load_from" | "init_cfg" | "pretrained"
    local: str | None      # resolved local file, if any
    remote: bool

    @property
    def available(self) -> bool:
        return self.local is not None


def hub_checkpoint_dirs() -> list[Path]:
    """Folders where torch/mmengine put downloaded checkpoints."""
    dirs = []
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    dirs.append(Path(torch_home) / "hub" / "checkpoints")
    mmengine_home = os.environ.get("MMENGINE_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mmengine")
    dirs.append(Path(mmengine_home) / "hub" / "checkpoints")
    return [d for d in dirs if d.is_dir()]


def _openmmlab_urls() -> dict[str, str]:
    import importlib.util

    try:
        spec = importlib.util.find_spec("mmengine")
    except (ImportError, ValueError):  # not installed (the pre-commit hook's environment)
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return {}
    hub = Path(list(spec.submodule_search_locations)[0]) / "hub"
    urls: dict[str, str] = {}
    for name in ("openmmlab.json", "mmcls.json"):
        try:
            urls.update(json.loads((hub / name).read_text()))
        except (OSError, ValueError):
            pass
    return urls


def resolve(source: str, base_dir: Path | None = None) -> tuple[str | None, bool]:
    """(local file or None, is_remote). Relative local paths resolve against ``base_dir``
    (the directory training is launched from: the current directory)."""
    if not isinstance(source, str) or not source:
        return None, False
    if source.startswith(REMOTE_PREFIXES):
        name = None
        if source.startswith(("http://", "https://")):
            name = source.rsplit("/", 1)[-1].split("?")[0]
        elif source.startswith(("open-mmlab://", "openmmlab://")):
            url = _openmmlab_urls().get(source.split("://", 1)[1])
            name = url.rsplit("/", 1)[-1] if url else None
        for d in hub_checkpoint_dirs():
            if name and (d / name).is_file():
                return str(d / name), True
            if source.startswith("torchvision://"):
                # torchvision names files "<arch>-<hash>.pth"; the arch is the part after ://
                arch = source.split("://", 1)[1]
                hits = sorted(d.glob(f"{arch}-*.pth"))
                if hits:
                    return str(hits[-1]), True
        return None, True
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return (str(path) if path.is_file() and os.access(path, os.R_OK) else None), False


def config_sources(cfg, base_dir: Path | None = None) -> list[Source]:
    """Every pretrained source named in the config: ``load_from``, ``init_cfg`` entries that
    load a checkpoint (see :func:`is_pretrained_init`) and the legacy ``pretrained=`` arguments anywhere under ``model``."""
    found: list[Source] = []

    def add(key_path, src, kind):
        if isinstance(src, str) and src:
            local, remote = resolve(src, base_dir)
            found.append(Source(key_path, src, kind, local, remote))

    load_from = cfg.get("load_from", None)
    add("load_from", load_from, "load_from")

    def walk(node, path):
        if isinstance(node, dict):
            init = node.get("init_cfg")
            for i, entry in enumerate(init if isinstance(init, (list, tuple)) else [init]):
                if is_pretrained_init(entry):
                    sub = f"{path}.init_cfg" + (f".{i}" if isinstance(init, (list, tuple)) else "")
                    add(f"{sub}.checkpoint", entry.get("checkpoint"), "init_cfg")
            if isinstance(node.get("pretrained"), str):
                add(f"{path}.pretrained", node.get("pretrained"), "pretrained")
            for k, v in node.items():
                if k != "init_cfg":
                    walk(v, f"{path}.{k}")
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f"{path}.{i}")

    walk(cfg.get("model", None), "model")
    return found


def is_pretrained_init(entry) -> bool:
    """An ``init_cfg`` entry that loads weights: ``type='Pretrained'``, or a type-less dict
    with a ``checkpoint`` (backbones such as PVT read those themselves)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("checkpoint"), str):
        return False
    return entry.get("type") is None or type_name(entry.get("type")) == "Pretrained"

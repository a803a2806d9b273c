"""Loading a config as training loads it: ``Config.fromfile`` (which runs the config's code and
its ``custom_imports``), then ``--cfg-options``. Or, under ``--no-exec``, the static reading
as a :class:`~detaudit.load.data_config.DataConfig` (no mmengine needed). A config that does
not load raises :class:`LoadFailed` with an ``ErrorInfo`` pointing at the file and line to fix."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import ErrorInfo
from .bases import CircularBaseError, base_cycle


class LoadFailed(Exception):
    def __init__(self, info: ErrorInfo):
        super().__init__(info.short())
        self.info = info


def load_executed(path: Path, display: Callable[[Path], str], read_files: Callable[[], list[Path]]):
    """``Config.fromfile(path)``. ``read_files`` lists the files the config reads (its bases),
    to point an error at the innermost of them in the traceback. The caller silences the
    config's output (the facts' sandbox)."""
    try:
        from mmengine.config import Config

        from .model_index import remember

        remember()  # mmdet:: bases: the package's metafiles read once, not once per base
        if path.exists() and not path.is_file():
            # a folder, FIFO or device would hang or fail deep inside mmengine
            raise OSError(f"not a regular file: {path}")
        cycle = base_cycle(path, display=display)
        if cycle:
            raise CircularBaseError(f"circular _base_ chain: {cycle}")
        return Config.fromfile(str(path))
    except BaseException as exc:  # noqa: BLE001 - configs are arbitrary code
        if isinstance(exc, KeyboardInterrupt):
            raise
        files = tuple(str(p) for p in read_files()) + (str(path.resolve()),)
        info = ErrorInfo.from_exception(exc, prefer_files=files)
        if isinstance(exc, SyntaxError) and not (info.file and os.path.isfile(info.file)):
            # mmengine parses the text without a file name: find the file that fails to parse
            info.file, info.line = _locate_syntax_error(path, read_files())
        raise LoadFailed(info) from None


def load_static(path: Path, display: Callable[[Path], str]):
    """--no-exec: (DataConfig, StaticConfig) read from syntax trees, none of the config's code
    run and neither mmengine nor torch imported."""
    from .data_config import DataConfig
    from .static_reader import StaticConfigError, read_static

    try:
        read = read_static(path, display=display)
        return DataConfig(read.cfg, filename=str(path)), read
    except StaticConfigError as exc:
        info = ErrorInfo("StaticConfigError", exc.message, file=exc.file, line=exc.line)
    except (KeyError, TypeError, ValueError, RecursionError, MemoryError) as exc:  # reserved keys, odd values
        info = ErrorInfo.from_exception(exc)
    raise LoadFailed(info)


def apply_cfg_options(cfg, options: dict) -> None:
    """``--cfg-options KEY=VALUE``, merged as mmengine's tools merge them (into an mmengine
    ``Config``, or a ``DataConfig`` read by --no-exec)."""
    try:
        cfg.merge_from_dict(options)
    except Exception as exc:  # noqa: BLE001
        raise LoadFailed(ErrorInfo.from_exception(exc)) from None


def _locate_syntax_error(config: Path, bases: list[Path]) -> tuple[str | None, int | None]:
    import ast

    for path in [Path(config).resolve(), *bases]:
        try:
            ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as exc:
            return str(path), exc.lineno
        except (OSError, ValueError):
            continue
    return str(config), None

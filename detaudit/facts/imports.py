"""The modules ``custom_imports`` names, imported as mmengine imports them when it loads the
config: which fail, and with what. Importing runs their code, so this fact does not exist
under ``--no-exec``."""
from __future__ import annotations

import importlib
import sys

from ..errors import ErrorInfo
from .sandbox import no_network, quiet


def import_error(module: str) -> ErrorInfo | None:
    """Import ``module`` (as ``import_modules_from_strings`` does); why it fails, or None. A
    module already in ``sys.modules`` was imported by this audit's own load (each audit starts
    with the modules of a fresh process, :mod:`~detaudit.facts.isolation`) or belongs to the
    environment: it imported fine."""
    if module in sys.modules:
        return None
    try:
        with quiet(), no_network():
            importlib.import_module(module)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - imported code may raise anything
        info = ErrorInfo.from_exception(exc)
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            info.extra["missing_module"] = exc.name
        return info
    return None


def custom_import_errors(imports: list[str]) -> dict[str, ErrorInfo | None]:
    return {module: import_error(module) for module in imports}

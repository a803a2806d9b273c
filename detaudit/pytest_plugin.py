"""The pytest plugin's former entry point (``pytest11``), kept for installs made before the
plugin moved to :mod:`detaudit.faces.pytest_plugin`: its hooks and fixtures, re-exported."""
from .faces.pytest_plugin import (detaudit_audit, detaudit_report, pytest_addoption,  # noqa: F401
                                  pytest_collection_modifyitems, pytest_configure, pytest_report_header,
                                  pytest_runtest_call)

"""Dataset types no synthetic copy is written for, each registered with its reason.

They are registered in the ``detaudit.datasets`` group like the writers, so that a subclass match
never hands them a writer of their base class (``LVISV1Dataset`` is a ``CocoDataset`` whose
annotations only the lvis package reads).
"""
from __future__ import annotations

from .contract import DataRequest, Unsupported


def lvis(request: DataRequest):
    try:
        import lvis as _lvis  # noqa: F401
        why = "no synthetic LVIS writer (its annotations carry per-image negative and not-exhaustive categories)"
    except ImportError:
        why = "its annotations are read through the lvis package, which is not installed here"
    raise Unsupported(f"{request.type_name}: {why}")


def video(request: DataRequest):
    raise Unsupported(f"{request.type_name} is a video/tracking dataset: the run tier writes image datasets only")


def grounding(request: DataRequest):
    raise Unsupported(f"{request.type_name} is a referring/caption dataset: no synthetic writer for its "
                      "expressions and captions")


def dod(request: DataRequest):
    raise Unsupported(f"{request.type_name}: its annotations are read through the d_cube package")


def dsdl(request: DataRequest):
    raise Unsupported(f"{request.type_name}: its annotations are read through the dsdl package")


def wrapper(request: DataRequest):
    raise Unsupported(f"{request.type_name} wraps other datasets: prepare each dataset inside it "
                      "(its `dataset` or `datasets` key)")

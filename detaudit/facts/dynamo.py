"""torch's compiler (``torch._dynamo``) kept unimported while an audit compiles nothing.

torch's optimizers mark some of their methods (``add_param_group``, ``zero_grad``, ``state_dict``,
``load_state_dict``) to be skipped by the compiler, and wrap ``step`` in graph breaks. Either one
imports ``torch._dynamo``, with ``torch._inductor`` and ``torch._functorch``, the first time it runs:
about a second, on a par with the whole synthetic pass of a small model, for calls that do
nothing when nothing is compiled. While :func:`deferred` is active a stand-in answers those two
requests: ``disable`` hands back the function, ``graph_break`` does nothing. Anything else asked
of ``torch._dynamo`` (a compile, a submodule, an attribute) imports the real module there and then
and is answered by it. On exit the stand-in and the marks it left on torch's functions are
removed, so a process that goes on (training with ``DetAuditHook``) compiles as it would have.
"""
from __future__ import annotations

import contextlib
import sys
import types

NAME = "torch._dynamo"
MARK = "__dynamo_disable"  # where torch caches a function's compiler-skip wrapper (torch/_compile.py)


class StandIn(types.ModuleType):
    """``torch._dynamo`` for a process that compiles nothing, until something asks for more."""

    def __init__(self) -> None:
        super().__init__(NAME)  # __spec__ None: the import system takes it as loaded
        self.marked: list = []

    def disable(self, fn=None, recursive=True, wrapping=True):
        if fn is None:
            return lambda f: self.disable(f, recursive, wrapping)
        self.marked.append(fn)
        return fn

    @staticmethod
    def graph_break() -> None:
        return None

    def __getattr__(self, name: str):
        if name in ("__file__", "__cached__"):  # a built-in module's answer: scans of sys.modules
            raise AttributeError(name)          # (inspect.getmodule) skip it, nothing is imported
        return getattr(materialize(), name)


def unmark(standin: StandIn) -> None:
    """Forget the compiler-skip wrappers torch cached from the stand-in (each is the function itself)."""
    for fn in standin.marked:
        if getattr(fn, MARK, None) is fn:
            delattr(fn, MARK)
    standin.marked.clear()


def materialize():
    """The real ``torch._dynamo``, imported in place of the stand-in."""
    import importlib

    current = sys.modules.get(NAME)
    if isinstance(current, StandIn):
        remove(current)
    return importlib.import_module(NAME)


def remove(standin: StandIn) -> None:
    if sys.modules.get(NAME) is standin:
        del sys.modules[NAME]
    torch = sys.modules.get("torch")
    if torch is not None and torch.__dict__.get("_dynamo") is standin:
        del torch._dynamo
    unmark(standin)


@contextlib.contextmanager
def deferred():
    """No ``torch._dynamo`` import for what runs inside, unless it compiles. Nothing to do when
    the real module is already imported. torch is not imported here: its ``torch._dynamo``
    attribute is looked up in ``sys.modules`` when first asked for."""
    if NAME in sys.modules:
        yield
        return
    standin = StandIn()
    sys.modules[NAME] = standin
    try:
        yield
    finally:
        remove(standin)

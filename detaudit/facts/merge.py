"""Facts about how the config's files merged, read from the source map's bindings
(:mod:`detaudit.load.history`): every key's assignments, the dicts whose ``type`` changed
while base keys stayed, the lists a later file replaced. They read syntax trees only, so they
exist under ``--no-exec`` too. Where the config also loaded, a type change is kept only when
the loaded dict agrees (same type, the kept keys present): the syntax-tree reading never
reports a key the loaded config does not have."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FactUnavailable
from ..load.history import KeyHistory, TypeChange

if TYPE_CHECKING:
    from .context import AuditContext


def _need_file(ctx: AuditContext, name: str) -> None:
    if ctx.config_path is None:
        raise FactUnavailable(name, "the config was given as an object, not a file: no source to read")


def key_history(ctx: AuditContext) -> KeyHistory:
    _need_file(ctx, "key_history")
    return KeyHistory(ctx.source_map.histories())


def _loaded(ctx: AuditContext):
    try:
        ctx.cfg
    except FactUnavailable:
        return None
    return ctx


def _short(t) -> str | None:
    if t is None:
        return None
    if not isinstance(t, str):
        t = getattr(t, "__name__", str(t))
    return t.split(".")[-1]


def type_changes(ctx: AuditContext) -> list[TypeChange]:
    _need_file(ctx, "type_changes")
    changes = ctx.source_map.type_changes()
    loaded = _loaded(ctx)
    if loaded is None:
        return changes
    out = []
    missing = object()
    for change in changes:
        value = loaded.config_value(change.key_path, missing)
        if value is missing or not hasattr(value, "keys"):
            continue
        if _short(value.get("type")) != _short(change.new_type):
            continue  # the syntax trees misread this dict: trust the loaded config
        change.kept = {k: loc for k, loc in change.kept.items() if k in value}
        change.kept_values = {k: v for k, v in change.kept_values.items() if k in change.kept}
        out.append(change)
    return out


def replaced_lists(ctx: AuditContext) -> list:
    _need_file(ctx, "replaced_lists")
    replaced = ctx.source_map.replaced_lists()
    loaded = _loaded(ctx)
    if loaded is None:
        return replaced
    missing = object()
    out = []
    for r in replaced:
        value = loaded.config_value(r.key_path, missing)
        if isinstance(value, (list, tuple)) and len(value) == len(r.new):
            out.append(r)
    return out

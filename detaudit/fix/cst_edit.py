"""Key-level edits made on a file's concrete syntax tree (LibCST), so comments and layout stay.

Two kinds of edit:

* **in place**: the key is written in this file on a known line (the source map's answer); the
  keyword argument, dict entry or top-level assignment of that name on that line is changed;
* **override**: the key is inherited from a base, and this file (the child) writes a value over
  it: into its own top-level dict of that name when it has one (text-style configs merge dicts),
  else as a new statement at the end.

Every function takes source text and returns new source text, or raises :class:`EditError`
with the reason; nothing here touches the disk.
"""
from __future__ import annotations

import re

from ..load.suppressions import CODES, PATTERN


class EditError(Exception):
    """The edit cannot be made in this file (the reason is the message)."""


def _cst():
    import libcst

    return libcst


# --------------------------------------------------------------------------- finding the key
def _name_of(node) -> str | None:
    """The key a keyword argument, dict entry or assignment target spells."""
    cst = _cst()
    if isinstance(node, cst.Arg) and node.keyword is not None:
        return node.keyword.value
    if isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
        return node.key.evaluated_value
    if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
        return node.targets[0].target.value
    return None


def _sites(module, name: str, line: int | None):
    """The nodes (Arg, DictElement, Assign) that set ``name``, on ``line`` when given."""
    cst = _cst()
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    found = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node):
            if isinstance(node, (cst.Arg, cst.DictElement, cst.Assign)) and _name_of(node) == name:
                pos = positions.get(node)
                if pos is not None and (line is None or pos.start.line == line):
                    found.append(node)
            return True

    wrapper.module.visit(Finder())
    return wrapper.module, found


def _replace(module, target, new):
    cst = _cst()

    class Swap(cst.CSTTransformer):
        def on_leave(self, original, updated):
            if original is target:
                return new
            return updated

    return module.visit(Swap())


def _parse_module(text: str):
    cst = _cst()
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise EditError(f"the file does not parse: {str(exc).splitlines()[0]}") from None


def _expr(src: str):
    return _cst().parse_expression(src)


def _kwarg(name: str, value_src: str):
    cst = _cst()
    return cst.Arg(keyword=cst.Name(name), value=_expr(value_src), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))


def _value_of(node):
    cst = _cst()
    return node.value if isinstance(node, (cst.Arg, cst.DictElement, cst.Assign)) else None


def _with_value(node, value):
    return node.with_changes(value=value)


def _one_site(text: str, name: str, line: int | None):
    module = _parse_module(text)
    module, sites = _sites(module, name, line)
    if not sites:
        where = f" on line {line}" if line else ""
        raise EditError(f"no '{name}=' or '{name}:' found{where}")
    if len(sites) > 1:
        raise EditError(f"'{name}' is set {len(sites)} times on line {line}; edit it by hand")
    return module, sites[0]


# --------------------------------------------------------------------------- edits in place
def set_in_place(text: str, name: str, line: int | None, value_src: str) -> str:
    module, site = _one_site(text, name, line)
    return _replace(module, site, _with_value(site, _expr(value_src))).code


def rename_in_place(text: str, name: str, line: int | None, to: str) -> str:
    cst = _cst()
    module, site = _one_site(text, name, line)
    if isinstance(site, cst.Arg):
        if not to.isidentifier():
            raise EditError(f"'{to}' cannot be a keyword argument")
        new = site.with_changes(keyword=cst.Name(to))
    elif isinstance(site, cst.DictElement):
        quote = site.key.quote if isinstance(site.key, cst.SimpleString) else "'"
        new = site.with_changes(key=cst.SimpleString(f"{quote}{to}{quote}"))
    else:
        new = site.with_changes(targets=[site.targets[0].with_changes(target=cst.Name(to))])
    return _replace(module, site, new).code


def delete_in_place(text: str, name: str, line: int | None) -> str:
    cst = _cst()
    module, site = _one_site(text, name, line)
    if isinstance(site, cst.Assign):
        class DropStatement(cst.CSTTransformer):
            def leave_SimpleStatementLine(self, original, updated):
                if any(s is site for s in original.body):
                    return cst.RemoveFromParent() if len(original.body) == 1 else updated.with_changes(
                        body=[s for s in updated.body if s is not site])
                return updated
        return module.visit(DropStatement()).code

    class DropItem(cst.CSTTransformer):
        def leave_Call(self, original, updated):
            return self._drop(original, updated, "args")

        def leave_Dict(self, original, updated):
            return self._drop(original, updated, "elements")

        def _drop(self, original, updated, field):
            items = list(getattr(original, field))
            if not any(i is site for i in items):
                return updated
            at = next(n for n, i in enumerate(items) if i is site)
            kept = [i for n, i in enumerate(getattr(updated, field)) if n != at]
            if kept and at > 0:  # the one before takes its comma: the last one's (or none), or the layout after it
                kept[at - 1] = kept[at - 1].with_changes(comma=site.comma)
            return updated.with_changes(**{field: kept})

    return module.visit(DropItem()).code


def reset_in_place(text: str, name: str, line: int | None, restate: dict[str, str]) -> str:
    """``_delete_=True`` first in the dict at the key, then the restated keys it does not write."""
    cst = _cst()
    module, site = _one_site(text, name, line)
    value = _value_of(site)
    new_value = _reset_dict(value, restate)
    if new_value is None:
        raise EditError(f"'{name}' is not written as dict(...) or {{...}} here")
    return _replace(module, site, _with_value(site, new_value)).code


def _is_dict_call(value) -> bool:
    cst = _cst()
    return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "dict"


def _reset_dict(value, restate: dict[str, str]):
    cst = _cst()
    if _is_dict_call(value):
        args = [a for a in value.args if not (a.keyword is not None and a.keyword.value == "_delete_")]
        have = {a.keyword.value for a in args if a.keyword is not None}
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        head = [_kwarg("_delete_", "True").with_changes(comma=comma)]
        for k, v in restate.items():
            if k not in have:
                args = _append_arg(args, _kwarg(k, v))
        return value.with_changes(args=head + args)
    if isinstance(value, cst.Dict):
        elements = [e for e in value.elements if not (isinstance(e, cst.DictElement) and _name_of(e) == "_delete_")]
        have = {_name_of(e) for e in elements}
        new = [cst.DictElement(cst.SimpleString("'_delete_'"), cst.Name("True"))] + elements
        new += [cst.DictElement(cst.SimpleString(repr(k)), _expr(v)) for k, v in restate.items() if k not in have]
        return value.with_changes(elements=new)
    return None


# --------------------------------------------------------------------------- overrides in a child
def _nested_src(parts: list[str], leaf_src: str) -> str:
    src = leaf_src
    for part in reversed(parts):
        if not part.isidentifier():
            raise EditError(f"'{part}' cannot be written as a keyword argument")
        src = f"dict({part}={src})"
    return src


def override(text: str, key: str, value_src: str, *, lazy: bool = False) -> str:
    """Write ``key = value`` into the child over what it inherits (``reset`` values included:
    the caller passes a ``dict(_delete_=True, ...)``)."""
    cst = _cst()
    parts = key.split(".")
    if any(p.isdigit() for p in parts):
        raise EditError(f"{key} is inside a list: a child cannot override one list item")
    module = _parse_module(text)
    if lazy:  # pure-Python config: an assignment replaces, an item assignment edits the inherited value
        target = parts[0] + "".join(f"[{p!r}]" for p in parts[1:])
        return _append(module, f"{target} = {value_src}\n").code
    top = [s for s in _top_assigns(module) if _name_of(s) == parts[0]]
    if not top:
        return _append(module, f"{parts[0]} = {_nested_src(parts[1:], value_src)}\n").code
    site = top[-1]
    if len(parts) == 1:
        return _replace(module, site, site.with_changes(value=_expr(value_src))).code
    new_value = _merge_into(site.value, parts[1:], value_src, key)
    return _replace(module, site, site.with_changes(value=new_value)).code


def _merge_into(value, parts: list[str], value_src: str, key: str):
    cst = _cst()
    if not _is_dict_call(value):
        raise EditError(f"the child writes {key.rsplit('.', len(parts))[0]} as something other than dict(...)")
    args = list(value.args)
    for i, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == parts[0]:
            if len(parts) == 1:
                args[i] = arg.with_changes(value=_expr(value_src))
            else:
                args[i] = arg.with_changes(value=_merge_into(arg.value, parts[1:], value_src, key))
            return value.with_changes(args=args)
    if not parts[0].isidentifier():
        raise EditError(f"'{parts[0]}' cannot be written as a keyword argument")
    return value.with_changes(args=_append_arg(args, _kwarg(parts[0], _nested_src(parts[1:], value_src))))


def _append_arg(args: list, new) -> list:
    """``args`` + ``new``, laid out as the arguments before it are: one a line when they are."""
    cst = _cst()
    args = list(args)
    if not args:
        return [new]
    last = args[-1]
    between = [a.comma for a in args[:-1] if isinstance(a.comma, cst.Comma)]
    comma = between[-1] if between else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new one goes after it and keeps it
        return args[:-1] + [last.with_changes(comma=comma), new.with_changes(comma=last.comma)]
    return args[:-1] + [last.with_changes(comma=comma), new]


def _top_assigns(module):
    cst = _cst()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    yield small


def _append(module, statement_src: str):
    cst = _cst()
    stmt = cst.parse_statement(statement_src)
    return module.with_changes(body=list(module.body) + [stmt])


# --------------------------------------------------------------------------- suppression comments
def drop_suppression(text: str, line: int, codes: list[str]) -> str:
    """Remove ``codes`` from the suppression comment on ``line``; the comment goes when none is left."""
    lines = text.splitlines(keepends=True)
    if not 1 <= line <= len(lines):
        raise EditError(f"line {line} is past the end of the file")
    row = lines[line - 1]
    m = PATTERN.search(row)
    if m is None:
        raise EditError(f"no '# detaudit: ignore' comment on line {line}")
    rest = m.group("rest")
    cm = CODES.match(rest.strip())
    listed = [c.strip() for c in cm.group("codes").split(",") if c.strip()] if cm else []
    left = [c for c in listed if c not in codes]
    ending = row[len(row.rstrip("\r\n")):]
    if left:
        new_comment = f"# detaudit: ignore[{', '.join(left)}]"
        tail = rest.strip()[cm.end():] if cm else ""
        new_row = row[:m.start()] + new_comment + tail.rstrip() + ending
    else:
        before = row[:m.start()].rstrip()
        new_row = (before + ending) if before else ""
    lines[line - 1] = new_row
    return "".join(lines)


SUPPRESSION_TEXT = re.compile(r"#\s*detaudit\s*:", re.IGNORECASE)

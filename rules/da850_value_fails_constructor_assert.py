from detaudit.rule import Violation, rule
from detaudit.rule.merge import where
from detaudit.rule.source import source_lines, source_of

from ._component_dicts import constructors_of, own_inits, typed_dicts

TYPES = {"tuple": tuple, "list": list, "dict": dict, "int": int, "float": float, "str": str, "bool": bool}
_asserted: dict = {}  # constructor -> {parameter: (allowed type names, source line)}


def _isinstance_asserts(init) -> dict:
    """{parameter: (type names, line)} of the ``assert isinstance(<parameter>, <types>)`` a constructor
    always runs: statements of its body itself, not inside a branch, a loop or a handler."""
    import ast
    import inspect
    import textwrap

    if init in _asserted:
        return _asserted[init]
    found = {}
    code = getattr(init, "__code__", None)
    if code is not None and "isinstance" not in code.co_names:  # no isinstance call: no source to read
        _asserted[init] = found
        return found
    try:
        source = textwrap.dedent(source_of(init))
        params = set(inspect.signature(init).parameters)
        _, first = source_lines(init)
        tree = ast.parse(source)
    except (OSError, TypeError, ValueError, SyntaxError):
        tree = None
    body = tree.body[0].body if tree is not None and tree.body and hasattr(tree.body[0], "body") else []
    for stmt in body:
        if not isinstance(stmt, ast.Assert):
            continue
        tests = stmt.test.values if isinstance(stmt.test, ast.BoolOp) and isinstance(stmt.test.op, ast.And) \
            else [stmt.test]
        for test in tests:
            if not (isinstance(test, ast.Call) and getattr(test.func, "id", None) == "isinstance"
                    and len(test.args) == 2 and isinstance(test.args[0], ast.Name) and test.args[0].id in params):
                continue
            kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
            names = [getattr(k, "id", None) for k in kinds]
            if names and all(n in TYPES for n in names):
                found[test.args[0].id] = (tuple(names), first + stmt.lineno - 1)
    _asserted[init] = found
    return found


@rule(code="DA850", name="value-fails-constructor-assert", severity="error", tier="static",
      needs=("constructors", "source_map"))
def value_fails_constructor_assert(ctx):
    """A config value of a kind the component's constructor asserts it is not.

    ## What it does
    Reads, in the constructor of each component a config builds (through its classes' own
    constructors), every ``assert isinstance(<argument>, <type>)`` it always runs, and checks
    the config's value for that argument: a list where the constructor asserts a tuple
    (``Mosaic(img_scale=[640, 640])``), a number where it asserts a dict, and so on.

    ## Why is this bad?
    Python configs keep what was written: ``[640, 640]`` stays a list, and most of mmdet takes a
    list and a tuple alike, so the habit goes unnoticed until a component that asserts the exact
    type is built, at the start of training or of the first validation, with an
    ``AssertionError`` that carries no message and names no key.

    ## Example
    ```python
    train_pipeline = [dict(type='Mosaic', img_scale=[640, 640]), ...]
    ```

    ## Use instead
    ```python
    train_pipeline = [dict(type='Mosaic', img_scale=(640, 640)), ...]
    ```
    """
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    sm, seen = ctx.source_map, set()
    for path, d in typed_dicts(ctx.cfg):
        try:
            resolved = constructors.resolve(d["type"], path)
        except Exception:  # noqa: BLE001 - DA848's to report
            continue
        if resolved is None or not isinstance(resolved[0], type):
            continue
        for klass, init, params in own_inits(resolved[0]):
            for name, (kinds, line) in _isinstance_asserts(init).items():
                if name not in d or d[name] is None:
                    continue
                value = d[name]
                if isinstance(value, tuple(TYPES[k] for k in kinds)):
                    continue
                key = f"{path}.{name}"
                written = where(sm.locate(key))
                if written in seen:
                    continue
                seen.add(written)
                wanted = " or ".join(kinds)
                yield Violation(
                    message=(f"{key} = {value!r} ({written}) is a {type(value).__name__}, but {klass.__name__}'s "
                             f"constructor asserts isinstance({name}, {wanted}) ({klass.__module__}, line {line}): "
                             f"building it fails with AssertionError"),
                    key_path=key, evidence={"type": klass.__name__, "argument": name,
                                            "given": type(value).__name__, "asserted": list(kinds)},
                    fix=f"write {name} as a {wanted}" + (f" ({tuple(value)!r})" if kinds == ("tuple",)
                                                          and isinstance(value, list) else ""))

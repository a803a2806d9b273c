import ast
import difflib
import inspect
import textwrap

from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, type_name
from detaudit.rule.source import source_of

from ._component_dicts import constructors_of

DEFAULT = "DefaultOptimWrapperConstructor"
_read: dict = {}  # constructor class -> the option names its code reads


def _names_read(cls) -> set[str] | None:
    """The string keys a constructor class (and the classes it inherits) reads from dicts:
    ``x.get('name')``, ``x['name']``, ``'name' in x``; None when its source cannot be read."""
    if cls in _read:
        return _read[cls]
    found: set[str] = set()
    for klass in inspect.getmro(cls):
        if klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(source_of(klass)))
        except (OSError, TypeError, SyntaxError, ValueError):
            _read[cls] = None
            return None
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("get", "pop") \
                    and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str):
                found.add(n.args[0].value)
            elif isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str):
                found.add(n.slice.value)
            elif isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant) and isinstance(n.left.value, str) \
                    and any(isinstance(o, (ast.In, ast.NotIn)) for o in n.ops):
                found.add(n.left.value)
    _read[cls] = found
    return found


@rule(code="DA882", name="paramwise-option-nothing-reads", severity="warning", tier="static",
      needs=("constructors",))
def paramwise_option_nothing_reads(ctx):
    """An option of ``paramwise_cfg`` or of one of its ``custom_keys`` that the optimizer constructor never reads.

    ## What it does
    Resolves the optim wrapper's ``constructor`` (mmengine's ``DefaultOptimWrapperConstructor``
    unless the config names another) and reads, from its source and its bases', the option names
    it looks up (``x.get('lr_mult')``, ``x['custom_keys']``, ``'decay_mult' in x``). Reports each key
    of ``optim_wrapper.paramwise_cfg``, and of each entry of its ``custom_keys``, that is not among
    them, with the closest name it does read.

    ## Why is this bad?
    The constructor takes ``paramwise_cfg`` as one dict and picks the options it knows out of
    it; anything else is never looked at. ``decay_multi=0.`` for ``decay_mult=0.`` leaves the biases
    or norms it meant to exempt under full weight decay, ``lr_multi=0.1`` trains the backbone at the
    full rate: the run is not the one configured, and nothing warns.

    ## Example
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'bias': dict(decay_multi=0.)}))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'bias': dict(decay_mult=0.)}))
    ```

    ## References
    - mmengine ``DefaultOptimWrapperConstructor.add_params``
    """
    wrapper = ctx.cfg.get("optim_wrapper", None)
    paramwise = wrapper.get("paramwise_cfg", None) if is_mapping(wrapper) else None
    if not is_mapping(paramwise):
        return
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    name = type_name(wrapper.get("constructor", None)) or DEFAULT
    resolved = constructors.resolve(wrapper.get("constructor", None) or DEFAULT, "optim_wrapper.constructor")
    cls = resolved[0] if resolved is not None else None
    read = _names_read(cls) if inspect.isclass(cls) else None
    if not read:
        return
    places = [("optim_wrapper.paramwise_cfg", paramwise)]
    custom = paramwise.get("custom_keys", None)
    if is_mapping(custom):
        places += [(f"optim_wrapper.paramwise_cfg.custom_keys.{k}", v) for k, v in custom.items() if is_mapping(v)]
    for where, options in places:
        for option in options:
            if option in read or option.startswith("_"):
                continue
            close = difflib.get_close_matches(option, sorted(read), n=1, cutoff=0.7)
            yield Violation(
                message=(f"{where}.{option} is an option {name} never reads" +
                         (f" (it reads {close[0]!r})" if close else "") + ": it changes nothing in the optimizer's "
                         "parameter groups"),
                key_path=f"{where}.{option}", evidence={"constructor": name, "option": option, "closest": close},
                fix=f"rename it to {close[0]}" if close else f"remove it, or use an option {name} reads")

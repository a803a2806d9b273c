from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type
from detaudit.rule.custom_keys import custom_keys
from detaudit.rule.facts import tier_rank

from ._component_dicts import constructors_of

MULTS = ("norm_decay_mult", "bias_decay_mult")
# config keys of a model that build no module under their own name
NOT_MODULES = ("data_preprocessor",)
# a key whose module the detector stores under other names (SemiBaseDetector: student and teacher)
RENAMED = ("detector",)


def _deferred(ctx) -> bool:
    """DA835 reads the built model's parameter names when the audit builds it: this rule is its
    static stand-in."""
    return not ctx.no_exec and tier_rank(ctx.max_tier) >= tier_rank("build") and "DA835" in ctx.selected_codes


def _modules(node, key_path: str, attr: str, depth: int = 0):
    """(key path, attribute path of the module it builds, dict) of every typed dict of a model
    config that builds a submodule (loss, coder and ``*_cfg`` settings left out)."""
    if depth > 12:
        return
    items = node.items() if is_mapping(node) else enumerate(node) if isinstance(node, (list, tuple)) else ()
    for k, v in items:
        k = str(k)
        if not (is_mapping(v) or isinstance(v, (list, tuple))) or k.endswith("_cfg") or k in NOT_MODULES:
            continue
        inner = "" if k in RENAMED else f"{attr}.{k}" if attr else k
        if is_mapping(v) and "type" in v:
            yield f"{key_path}.{k}", inner, v
        yield from _modules(v, f"{key_path}.{k}", inner, depth + 1)


def _norms(constructors, key_path: str, node) -> str | None:
    """The trained norm layers a component builds, as its ``norm_cfg`` (given, else its
    constructor's default) says: e.g. ``BN (norm_cfg)``; None when it builds none or they are frozen."""
    where_from = "norm_cfg"
    cfg = node.get("norm_cfg", ...)
    if cfg is ...:
        sig = constructors.signature(node.get("type"), key_path, node) if constructors is not None else None
        cfg = sig.defaults.get("norm_cfg", None) if sig is not None else None
        where_from = f"{node_type(node)}'s default norm_cfg"
    if not is_mapping(cfg) or not isinstance(cfg.get("type", None), str) or cfg.get("requires_grad", True) is False:
        return None
    stages, count = node.get("frozen_stages", None), node.get("num_stages", 4)
    if isinstance(stages, int) and isinstance(count, int) and stages >= count:
        return None  # every stage and the stem frozen
    return f"{cfg['type']} ({where_from})"


def _biases(constructors, key_path: str, node) -> str | None:
    """Layers with biases a component certainly trains: every head's output layers; a neck's
    convolutions when it has no norm layers (a ``ConvModule`` then keeps its bias)."""
    parts = key_path.split(".")
    name = parts[-2] if parts[-1].isdigit() else parts[-1]  # a list of heads: bbox_head.0
    if name.endswith("head") and "fusion" not in name:  # a fusion head only combines the others' outputs
        return "its output layers"
    if name == "neck":
        if node.get("norm_cfg", ...) is None or (
                "norm_cfg" not in node and constructors is not None
                and (sig := constructors.signature(node.get("type"), key_path, node)) is not None
                and "norm_cfg" in sig.defaults and sig.defaults["norm_cfg"] is None):
            return "its convolutions (no norm_cfg: ConvModule keeps their bias)"
    return None


@rule(code="DA860", name="custom-key-skips-norm-decay-config", severity="warning", tier="static",
      needs=("constructors",))
def custom_key_skips_norm_decay_config(ctx):
    """A ``custom_keys`` entry names a part of the model config whose norm layers ``norm_decay_mult`` was meant for.

    ## What it does
    The static-tier counterpart of DA835. With ``paramwise_cfg.norm_decay_mult`` (or
    ``bias_decay_mult``) set and a weight decay in the optimizer, finds the ``custom_keys``
    entries without their own ``decay_mult`` that name a component of the model config (the
    key is part of its attribute path: ``'backbone'``, ``'neck'``, ``'roi_head'``,
    ``'bbox_head'``...) that trains norm layers: its ``norm_cfg`` (or, where none is written,
    its constructor's default) is a norm layer that is not frozen (``requires_grad=False``).
    For ``bias_decay_mult``, components that certainly train biases count: heads, and necks
    without norm layers. A longer key that sets ``decay_mult`` may take the norm layers back,
    so the rule stays quiet then. Under ``--no-exec`` only a written ``norm_cfg`` counts (a
    constructor's default needs the library). When the audit reaches the build tier with DA835
    selected, DA835 reads the built model's parameters and this rule stays silent.

    ## Why is this bad?
    mmengine's ``DefaultOptimWrapperConstructor.add_params`` gives each parameter the longest
    custom key its name contains and then *ignores the other rules*: the parameter's weight
    decay becomes ``weight_decay * decay_mult`` with the key's ``decay_mult`` (1.0 when the key
    does not say), and ``norm_decay_mult``, ``bias_decay_mult``, ``dwconv_decay_mult`` and
    ``flat_decay_mult`` are never looked at for it. ``'backbone': dict(lr_mult=0.1)`` next to
    ``norm_decay_mult=0`` therefore leaves every norm layer of the backbone at the full weight
    decay, with no message.

    ## Example
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                         paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'backbone': dict(lr_mult=0.1)}))
    ```

    ## Use instead
    ```python
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                         paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={
                             'backbone': dict(lr_mult=0.1),
                             'backbone.bn': dict(lr_mult=0.1, decay_mult=0.0),   # longer keys win
                             'backbone.layer': dict(lr_mult=0.1)}))   # (or decay_mult=0.0 for the whole part)
    ```
    """
    keys = custom_keys(ctx)
    paramwise = ctx.config_value("optim_wrapper.paramwise_cfg", None)
    decay = ctx.config_value("optim_wrapper.optimizer.weight_decay", None)
    model = ctx.cfg.get("model", None)
    if not keys or not is_mapping(paramwise) or not is_mapping(model) or _deferred(ctx):
        return
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or decay <= 0:
        return  # no weight decay: the multipliers have nothing to scale
    wanted = {m: paramwise.get(m) for m in MULTS
              if isinstance(paramwise.get(m, None), (int, float)) and paramwise.get(m) != 1}
    if not wanted:
        return
    order = sorted(sorted(map(str, keys)), key=len, reverse=True)  # mmengine's: longest first
    constructors = constructors_of(ctx)
    taken: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (key, multiplier) -> [(key path, what)]
    for key_path, attr, node in _modules(model, "model", ""):
        if not attr:
            continue
        key = next((k for k in order if k in f"{attr}."), None)
        spec = keys.get(key) if key is not None else None
        if not is_mapping(spec) or "decay_mult" in spec or spec.get("lr_mult", 1) == 0:
            continue
        if any(len(k) > len(key) and is_mapping(keys[k]) and "decay_mult" in keys[k] for k in order):
            continue  # a longer key with its own decay_mult may take the norm layers or biases back
        found = {"norm_decay_mult": _norms(constructors, key_path, node) if "norm_decay_mult" in wanted else None,
                 "bias_decay_mult": _biases(constructors, key_path, node) if "bias_decay_mult" in wanted else None}
        for mult, what in found.items():
            if what:
                taken.setdefault((key, mult), []).append((key_path, what))
    for (key, mult), places in sorted(taken.items()):
        value = wanted[mult]
        kind = "norm layers" if mult == "norm_decay_mult" else "biases"
        shown = "; ".join(f"{p}: {w}" for p, w in places[:3]) + (f"; {len(places) - 3} more" if len(places) > 3 else "")
        yield Violation(
            message=(f"optim_wrapper.paramwise_cfg.custom_keys['{key}'] sets no decay_mult and covers the {kind} of "
                     f"{shown}: mmengine applies a matching custom key instead of {mult}={value:g}, so those "
                     f"{kind} keep the full weight decay (decay_mult 1.0)"),
            key_path=f"optim_wrapper.paramwise_cfg.custom_keys.{key}",
            evidence={"key": key, "multiplier": mult, "value": value, "components": [p for p, _ in places]},
            fix=f"give custom_keys['{key}'] decay_mult={value:g} if the whole part may do without decay, or add a "
                f"longer key for its {kind} with decay_mult={value:g}")

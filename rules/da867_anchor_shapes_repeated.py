from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, node_type, walk_dicts


def _repeats(values) -> list:
    seen, out = set(), []
    for v in values:
        if v in seen and v not in out:
            out.append(v)
        seen.add(v)
    return out


@rule(code="DA867", name="anchor-shapes-repeated", severity="warning", tier="static")
def anchor_shapes_repeated(ctx):
    """An anchor generator's ``scales`` or ``ratios`` repeat a value: the same anchor is laid several times.

    ## What it does
    Reports an ``anchor_generator`` (any dict with ``strides`` and ``scales``/``ratios``, such as
    ``AnchorGenerator``) whose ``scales`` or ``ratios`` list holds a value twice, and says when the
    list is as long as ``strides``: mmdet lays every scale and every ratio at every level, it
    does not read one scale per level.

    ## Why is this bad?
    ``scales=[4, 8, 4, 4, 4]`` written as "one anchor size per FPN level" gives every level five
    anchors per ratio, three of them identical: the head predicts 15 anchors per location, the
    duplicates split the positives between identical anchors, and the per-level sizes the user
    wanted are not there. Nothing fails.

    ## Example
    ```python
    anchor_generator = dict(type='AnchorGenerator', scales=[4, 8, 4, 4, 4], ratios=[0.5, 1.0, 2.0],
                            strides=[4, 8, 16, 32, 64])
    ```

    ## Use instead
    ```python
    # one size per level: the size is scale x stride, so one scale gives one size per level
    anchor_generator = dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                            strides=[4, 8, 16, 32, 64])
    ```
    """
    model = ctx.cfg.get("model", None)
    for path, d in walk_dicts(model, "model"):
        if not (is_mapping(d) and isinstance(d.get("strides", None), (list, tuple))):
            continue
        for key in ("scales", "ratios"):
            values = d.get(key, None)
            if not isinstance(values, (list, tuple)):
                continue
            plain = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            repeated = _repeats(plain)
            if not repeated:
                continue
            per_level = (f"; {key} is as long as strides ({len(d['strides'])}), but mmdet lays every {key[:-1]} at "
                         "every level, it does not read one per level" if len(values) == len(d["strides"]) else "")
            yield Violation(
                message=(f"{path}.{key}={list(values)!r} repeats {', '.join(map(str, repeated))}: {node_type(d) or 'the'}"
                         f" anchor generator lays {len(values)} {key} at every location of every level, "
                         f"{len(values) - len(set(plain))} of them copies{per_level}"),
                key_path=f"{path}.{key}", evidence={key: list(values), "strides": list(d["strides"])},
                fix=(f"list each {key[:-1]} once; for one anchor size per level give one scale (the size is "
                     "scale x stride) or set the levels' sizes with base_sizes"))

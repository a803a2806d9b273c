"""A forward crash read against the channels each component really received.

A neck, a head or a backbone declares in its config the channels it takes (``in_channels``: one
number, or one per feature level) and builds its layers for them; what it receives is what the
component before it produces, which the config may not say at all (a CSPNeXt's widths come from
``widen_factor``, a Swin's from ``embed_dims``). The loss pass records the channels of the maps each
such component received (``FeatureSizes.channels``), so a disagreement is read off directly, whatever
the architecture and wherever inside the component the mismatch finally fails (the first lateral
conv, a top-down block that concatenates two levels, a head's shared tower).
"""
from __future__ import annotations

from .config import is_mapping
from .config import value_at as get
from .explanation import Explanation, short_type


def _disagreement(declared, received: list[int]) -> list[int] | None:
    """The positions where ``declared`` (a number or a list) disagrees with the received channels;
    None when the two cannot be compared (other lengths, mixed widths for one number)."""
    if isinstance(declared, bool):
        return None
    if isinstance(declared, int):
        if len(set(received)) != 1 or received[0] == declared:
            return None
        return list(range(len(received)))
    if isinstance(declared, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in declared):
        if len(declared) != len(received):
            return None  # how many levels is the feature-level explanation's to say
        wrong = [i for i, (d, r) in enumerate(zip(declared, received)) if d != r]
        return wrong or None
    return None


def declared_channels(cfg, channels: dict[str, list[int]]) -> list[Explanation]:
    """Each component, in the order the forward reached them, whose config ``in_channels`` disagrees
    with the channels it received."""
    out = []
    for name, received in channels.items():
        if name == "backbone":  # it receives the image: its channels are the loading's and the preprocessor's
            continue
        key = f"model.{name}"
        node = get(cfg, key)
        if not is_mapping(node) or "in_channels" not in node:
            continue
        declared = node.get("in_channels")
        wrong = _disagreement(declared, received)
        if wrong is None:
            continue
        kind = short_type(node.get("type"))
        got = received[0] if isinstance(declared, int) else list(received)
        where = "" if isinstance(declared, int) else \
            f" (level {', '.join(str(i) for i in wrong)}: {', '.join(f'{declared[i]} declared, {received[i]} received' for i in wrong)})"
        out.append(Explanation(
            f"{key}.in_channels",
            f"{key}.in_channels = {declared!r} declares what {kind or name} takes, but the maps it receives have "
            f"{got!r} channels{where}: its layers are built for the declared widths",
            {"declared": declared if isinstance(declared, int) else list(declared), "received": received,
             "levels": wrong, "component": key},
            f"set {key}.in_channels = {got!r} (what the component before it produces)"))
    return out

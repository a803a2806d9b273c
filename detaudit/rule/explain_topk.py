"""A ``torch.topk`` asked for more candidates than there are, read as the count the config sets.

``selected index k out of range`` carries no number. The ``k`` of a detector's top-k is a count
in its test settings (``max_per_img``, ``max_per_image``, ``nms_pre``, ``topk``...), in the failing
component's own dict or the ``test_cfg`` it is given; the candidates are what the component scores
per image (a query head's ``num_queries`` x classes, the proposals of an RoI head). The largest such
count is the one that exceeds them first.
"""
from __future__ import annotations

from .config import is_mapping, walk_dicts
from .config import value_at as get
from .explanation import Explanation, short_type

TOPK_KEYS = ("max_per_img", "max_per_image", "nms_pre", "topk", "pre_topk", "max_num", "num_topk", "max_dets")


def _counts(node, path: str):
    for where, d in walk_dicts(node, path):
        for k in TOPK_KEYS:
            v = d.get(k, None)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                yield f"{where}.{k}", v


def topk_beyond_candidates(cfg, err, comps) -> list[Explanation]:
    if "selected index k out of range" not in (err.message or ""):
        return []
    places = [(c, get(cfg, c)) for c in comps] + [("model.test_cfg", get(cfg, "model.test_cfg"))]
    found: dict[str, int] = {}
    for path, node in places:
        if is_mapping(node):
            found.update(dict(_counts(node, path)))
    if not found:
        return []
    key, k = max(found.items(), key=lambda kv: kv[1])
    comp = comps[0] if comps else "the model"
    kind = short_type(get(cfg, comp).get("type")) if comps and is_mapping(get(cfg, comp)) else ""
    return [Explanation(
        key, f"{key} = {k} asks torch.topk for the {k} best candidates of an image, more than {comp}"
             f"{f' ({kind})' if kind else ''} scores (a query head scores num_queries x classes, an RoI head its "
             "proposals)", {"k": k, "counts": found},
        f"lower {key} to at most the candidates the head scores per image")]

"""Coder, assigner and matcher predicates of the component contracts (:mod:`.contract_table`)."""
from __future__ import annotations

from .config import is_mapping, node_type
from .contracts import Breach, Site, as_list, get


def sigmoid_loss(loss) -> bool | None:
    """Whether a classification loss config trains sigmoid scores (None: no loss)."""
    if loss is None:
        return None
    if node_type(loss) in ("FocalLoss", "QualityFocalLoss", "VarifocalLoss", "SigmoidFocalLoss"):
        return bool(loss.get("use_sigmoid", True))
    return bool(loss.get("use_sigmoid", False))


def coder_four_values(site: Site):
    keys = ("normalizer",) if node_type(site.node) == "TBLRBBoxCoder" else ("target_means", "target_stds")
    for key in keys:
        v = as_list(site.get(key))
        if v is not None and len(v) != 4:
            yield Breach(key, list(v), "4 values (one per box coordinate)",
                         "the coder scales each of the 4 coordinates of every box delta by its own value")


def maxiou_thresholds(site: Site):
    pos, neg, low = site.get("pos_iou_thr"), site.get("neg_iou_thr"), site.get("min_pos_iou", 0.0)
    top = neg[1] if isinstance(neg, (list, tuple)) and len(neg) == 2 else neg
    if isinstance(pos, (int, float)) and isinstance(top, (int, float)) and top > pos:
        yield Breach("neg_iou_thr", neg, f"<= {pos} (pos_iou_thr)",
                     "negatives are assigned first, then positives overwrite them: boxes between the two "
                     "thresholds count as positives and no box is ignored")
    if isinstance(pos, (int, float)) and isinstance(low, (int, float)) and low > pos:
        yield Breach("min_pos_iou", low, f"<= {pos} (pos_iou_thr)",
                     "min_pos_iou only lowers the bar for a gt's best prior below pos_iou_thr")


def match_cost_vs_loss(site: Site):
    costs = site.get("match_costs")
    head = site.at("model.bbox_head")
    loss = get(head, "loss_cls") if is_mapping(head) and is_mapping(get(head, "loss_cls")) else None
    if not isinstance(costs, (list, tuple)) or loss is None:
        return
    sig = sigmoid_loss(loss)
    for i, c in enumerate(costs):
        t = node_type(c)
        if t == "FocalLossCost" and sig is False:
            yield Breach(f"match_costs.{i}.type", t, "ClassificationCost",
                         "FocalLossCost applies a sigmoid to scores the softmax loss_cls trains")
        elif t == "ClassificationCost" and sig is True:
            yield Breach(f"match_costs.{i}.type", t, "FocalLossCost",
                         "ClassificationCost applies a softmax to scores the sigmoid loss_cls trains")

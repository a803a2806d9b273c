"""Helpers shared by the loss rules: where in the config a logged loss key is configured."""
from __future__ import annotations


def loss_config_path(ctx, key: str) -> str | None:
    """The config key path of the loss that logs ``key``: ``loss_bbox`` ->
    ``model.roi_head.bbox_head.loss_bbox``; ``loss_rpn_cls`` -> ``model.rpn_head.loss_cls``.
    None when no config entry carries that name."""
    model = ctx.config_value("model", None)
    if not isinstance(model, dict):
        return None
    if key.startswith("loss_rpn_") and isinstance(model.get("rpn_head"), dict):
        found = _find(model["rpn_head"], "loss_" + key[len("loss_rpn_"):], "model.rpn_head")
        if found:
            return found
    # per-stage keys such as s0.loss_cls or d3.loss_bbox name the loss after the dot
    found = _find_all(model, key.split(".")[-1], "model")
    outside_rpn = [p for p in found if not p.startswith("model.rpn_head.")]
    return (outside_rpn or found or [None])[0]


def module_of_path(key_path: str | None) -> str | None:
    """``model.roi_head.bbox_head.loss_bbox`` -> ``roi_head.bbox_head``."""
    if not key_path or not key_path.startswith("model."):
        return None
    parts = key_path.split(".")[1:-1]
    return ".".join(parts) or None


def _find(node, name: str, path: str) -> str | None:
    found = _find_all(node, name, path)
    return found[0] if found else None


def _find_all(node, name: str, path: str) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if name in node and isinstance(node[name], dict):
            out.append(f"{path}.{name}")
        for k, v in node.items():
            out += _find_all(v, name, f"{path}.{k}")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            out += _find_all(v, name, f"{path}.{i}")
    return out


def group_by_module(ctx, names) -> dict[str, list[str]]:
    """Group parameter names under the shallowest module all of whose trainable parameters
    are in ``names``: an unwired head is one entry, not one per tensor."""
    names = set(names)
    trainable = [p.name for p in ctx.params if p.requires_grad]
    under: dict[str, set] = {}
    for n in trainable:
        parts = n.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            under.setdefault(".".join(parts[:i]), set()).add(n)
    groups: dict[str, list[str]] = {}
    for n in sorted(names):
        parts = n.split(".")[:-1]
        owner = n
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            if under.get(module, set()) <= names:
                owner = module
                break
        groups.setdefault(owner, []).append(n)
    return groups


def params_in_loss_graph(ctx) -> set[str]:
    """Names of the parameters the summed loss depends on, read from the autograd graph of the
    loss terms (the keys parse_losses sums), without running backward."""
    import torch

    by_id = {id(p): n for n, p in ctx.model.named_parameters()}
    roots = []
    for key, value in ctx.loss_result.losses.items():
        if "loss" not in key:
            continue
        for t in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(t, torch.Tensor) and t.grad_fn is not None:
                roots.append(t.grad_fn)
    found, seen, stack = set(), set(), roots
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        variable = getattr(fn, "variable", None)  # AccumulateGrad: a leaf tensor
        if variable is not None and id(variable) in by_id:
            found.add(by_id[id(variable)])
        stack.extend(next_fn for next_fn, _ in getattr(fn, "next_functions", ()))
    return found

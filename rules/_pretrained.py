"""Where a config takes pretrained weights from besides ``load_from`` and ``Pretrained`` inits,
shared by the rules that ask whether training starts from random weights."""
from detaudit.rule.config import type_name, walk_dicts


def other_sources(model, path):
    """Pretrained weights that are not a ``Pretrained`` init: an ``init_cfg`` that only names
    a ``checkpoint`` (PVT and other backbones load it themselves), a language model loaded
    by name from HuggingFace (GLIP, Grounding DINO) and a Detectron2 model's ``weights``."""
    found = []
    for key, node in walk_dicts(model, path):
        init = node.get("init_cfg", None)
        for entry in init if isinstance(init, (list, tuple)) else [init]:
            if hasattr(entry, "get") and isinstance(entry.get("checkpoint", None), str) and entry.get("checkpoint"):
                found.append(f"{key}.init_cfg")
        if "Bert" in (type_name(node.get("type", None)) or "") and isinstance(node.get("name", None), str):
            found.append(f"{key}.name")
        weights = node.get("weights", None)  # Detectron2Wrapper: weights='detectron2://...R-50.pkl'
        if isinstance(weights, str) and ("://" in weights or weights.endswith((".pkl", ".pth", ".pt"))):
            found.append(f"{key}.weights")
    return found



def starts_from_random(cfg, sources) -> bool:
    """Whether training a config starts from random weights: a model, and none of ``sources`` (the
    config's ``load_from``, ``Pretrained`` inits and legacy ``pretrained=``: the pretrained_sources
    fact) nor any other source (what DA202 reports)."""
    model = cfg.get("model", None)
    if not hasattr(model, "keys") or cfg.get("resume", False):
        return False
    return not sources and not other_sources(model, "model")

"""A failure explained by the config's own edits to its recipe (the ``crash_blame`` fact)."""
from __future__ import annotations

from .explanation import Explanation

PASS_WORDS = {"build": "the model builds", "predict": "predict runs", "loss": "the loss computes",
              "step": "the training step runs"}


def blamed(blame, phase: str) -> list[Explanation]:
    """One explanation per edit of the smallest set whose return to the recipe's values makes the
    failing pass succeed; empty when the search found none."""
    chosen = blame.for_pass(phase) if blame is not None else None
    if not chosen:
        return []
    keys = [e.key_path for e in chosen]
    out = []
    for e in chosen:
        others = [k for k in keys if k != e.key_path]
        together = f" (together with {', '.join(others)})" if others else ""
        out.append(Explanation(
            e.key_path,
            f"the failure comes from this config's edit {e.describe()}{together}: put back as the recipe it "
            f"inherits writes it, {PASS_WORDS.get(phase, 'the pass runs')}",
            {"blamed_edits": keys, "trials": blame.trials, "recipe": [str(f) for f in blame.recipe]},
            f"check {e.key_path}: the failure comes from this edit; make the keys that must agree with it follow "
            "it, or write it back as the recipe has it"))
    return out

from detaudit.rule import Violation, rule

from detaudit.rule.config import module_key
from detaudit.rule.source import source_of


def _mode_dependent(module) -> bool:
    """Layers whose training mode changes what they compute or store."""
    from torch import nn
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.instancenorm import _InstanceNorm

    if isinstance(module, (_BatchNorm, _InstanceNorm)):
        return bool(module.track_running_stats)
    if isinstance(module, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)):
        return module.p > 0
    return False


def _reapplied_by_owner(model, path: str) -> bool:
    """The owning module's own code calls ``self.<name>.eval()`` (as mmdet's semi-supervised
    detectors do for their teacher before using it): the revert is undone where it matters."""
    parent_path, _, attr = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    needle = f"self.{attr}.eval()"
    for cls in type(parent).__mro__:
        if cls.__module__.startswith("torch."):
            break
        try:
            if needle in source_of(cls):
                return True
        except (OSError, TypeError):
            continue
    return False


@rule(code="DA104", name="eval-reverted-by-train", severity="warning", tier="build",
      needs=("model", "build_report"))
def eval_reverted_by_train(ctx):
    """A submodule put in eval mode at build time is back in train mode after ``model.train()``.

    ## What it does
    Records which submodules are in eval mode once the model is built, initialized and
    its freeze hooks applied, then calls ``model.train()`` as every training loop does at
    the start of each epoch, and reports the modules that went back to train mode and
    contain layers whose mode matters (BatchNorm with running statistics, dropout).
    Modules whose owner calls ``self.<name>.eval()`` itself before using them (the
    teacher of mmdet's semi-supervised detectors) are not reported.

    ## Why is this bad?
    ``module.eval()`` in ``__init__`` or in a ``before_train`` hook looks like freezing
    the module's normalization statistics, but the runner calls ``model.train()`` after
    that, which flips every submodule back: BatchNorm running statistics of a "frozen"
    part drift with every batch and dropout stays active.

    ## Example
    ```python
    model = dict(type='QDTrack', detector=detector, freeze_detector=True)
    # QDTrack calls detector.eval() once in __init__; model.train() undoes it
    ```

    ## Use instead
    ```python
    model = dict(type='QDTrack', detector=detector, freeze_detector=True)
    custom_hooks = [dict(type='FreezeModulesHook', modules=['detector'], norm_eval=True)]
    # or a module whose train() override keeps its norm layers in eval (norm_eval=True)
    ```
    """
    model = ctx.model
    built = ctx.build_report
    before = set(built.eval_at_build) | set(built.eval_after_hooks)
    if not before:
        return
    named = dict(model.named_modules())
    reverted = sorted(n for n in before if n in named and named[n].training)
    reverted_set = set(reverted)
    tops = [n for n in reverted if n.rpartition(".")[0] not in reverted_set]
    for top in tops:
        prefix = top + "."
        under = [n for n in reverted if n == top or n.startswith(prefix)]
        layers = [n for n in under if _mode_dependent(named[n])]
        if not layers:
            continue  # nothing under it behaves differently in train mode
        if _reapplied_by_owner(model, top):
            continue
        kinds = sorted({type(named[n]).__name__ for n in layers})
        yield Violation(
            message=(f"{top} ({type(named[top]).__name__}) is in eval mode after the model is built, but "
                     f"model.train() puts it back in train mode: {len(layers)} mode-dependent layer(s) "
                     f"({', '.join(kinds)}) under it train normally, e.g. {', '.join(layers[:3])}"),
            key_path=module_key(ctx, top), module_path=top,
            evidence={"reverted_modules": len(under), "mode_dependent_layers": layers[:20],
                      "layer_types": kinds},
            fix=(f"keep {top} in eval mode through train(): norm_eval=True on the modules that support it, "
                 f"a freeze hook that overrides train(), or requires_grad=False plus a train() override"),
        )

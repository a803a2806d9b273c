"""``FreezeModulesHook``: truly freeze named submodules during training."""
import types
from typing import Iterable, List, Optional

import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def _norm_eval_train(self: nn.Module, mode: bool = True) -> nn.Module:
    """Replacement ``train`` of a frozen module: normal ``train`` then norm layers back to eval."""
    type(self).train(self, mode)
    if mode:
        for m in self.modules():
            if isinstance(m, NORM_TYPES):
                m.eval()
    return self


# pickling a bound method looks it up by name again: a frozen module then unpickles with its
# class's ``train`` instead of failing
_norm_eval_train.__name__ = 'train'


def freeze_modules(model: nn.Module, names: Iterable[str], norm_eval: bool = True) -> List[str]:
    """Freeze the submodules ``names`` of ``model``.

    Sets ``requires_grad=False`` on all their parameters and, with ``norm_eval``, keeps their
    normalization layers in eval mode (running statistics unchanged) after every ``train()`` call
    on the model. Returns the names frozen. Raises ``KeyError`` naming an unknown module.
    """
    frozen = []
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            children = [n for n, _ in model.named_children()]
            raise KeyError(f'FreezeModulesHook: the model has no submodule {name!r} '
                           f'(top-level modules: {children})') from None
        for param in module.parameters():
            param.requires_grad_(False)
        if norm_eval:
            module.train = types.MethodType(_norm_eval_train, module)
            if module.training:
                module.train(True)
        frozen.append(name)
    return frozen


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Freeze named submodules: ``requires_grad=False`` and norm layers kept in eval.

    Example: ``custom_hooks = [dict(type='FreezeModulesHook', modules=['backbone'])]``.

    The modules are frozen before the run starts and checked again before each training epoch.
    Their normalization layers are put back into eval mode after every ``model.train()``.

    Note:
        Under ``MMDistributedDataParallel`` the model is wrapped before hooks run, so DDP has
        already registered the now-frozen parameters; use
        ``model_wrapper_cfg=dict(type='MMDistributedDataParallel', find_unused_parameters=True)``
        with this hook, or freeze in the model config (e.g. ResNet ``frozen_stages=4,
        norm_eval=True``), which acts before wrapping.

    Args:
        modules (list[str]): Submodule paths, e.g. ``['backbone']`` or ``['backbone.layer1']``.
        norm_eval (bool): Keep the norm layers of the modules in eval mode. Default True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Optional[List[str]] = None, norm_eval: bool = True) -> None:
        if modules is None:
            modules = ['backbone']
        if isinstance(modules, str):
            modules = [modules]
        if not modules:
            raise ValueError('FreezeModulesHook: modules must name at least one submodule')
        self.modules = list(modules)
        self.norm_eval = norm_eval

    def _model(self, runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_run(self, runner) -> None:
        frozen = freeze_modules(self._model(runner), self.modules, self.norm_eval)
        runner.logger.info(f'FreezeModulesHook: froze {frozen} (norm_eval={self.norm_eval})')

    def before_train_epoch(self, runner) -> None:
        model = self._model(runner)
        for name in self.modules:
            module = model.get_submodule(name)
            for param in module.parameters():
                param.requires_grad_(False)
            if self.norm_eval and model.training:
                for m in module.modules():
                    if isinstance(m, NORM_TYPES):
                        m.eval()


_DROP = object()


def _plain(value):
    """``value`` as plain Python/tensor data, or ``_DROP`` if it cannot be expressed so."""
    import numpy as np
    import torch
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        if any(v is _DROP for v in items):
            return _DROP
        return type(value)(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _plain(v)
            if v is not _DROP and isinstance(k, (str, int)):
                out[k] = v
        return out
    return _DROP



@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Make saved checkpoints loadable with ``torch.load(weights_only=True)``.

    Since PyTorch 2.6 ``torch.load`` defaults to ``weights_only=True``, which refuses the logging
    history mmengine stores in every checkpoint (``message_hub``: ``HistoryBuffer`` objects and
    numpy values), so ``load_from``/``resume`` of such a checkpoint fails. Before each save this
    hook drops the smoothed log history and converts the remaining runtime information to plain
    Python values. Weights, optimizer and scheduler states are untouched, so ``load_from`` and
    ``resume`` work as usual (the log smoothing window simply restarts after a resume).
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if isinstance(hub, dict):
            runtime = _plain(hub.get('runtime_info', {}))
            runtime = runtime if isinstance(runtime, dict) else {}
            resumed = {k: bool(v) for k, v in hub.get('resumed_keys', {}).items() if k in runtime}
            checkpoint['message_hub'] = dict(log_scalars={}, runtime_info=runtime,
                                             resumed_keys=resumed)
        meta = checkpoint.get('meta')
        if isinstance(meta, dict):
            plain = _plain(meta)
            checkpoint['meta'] = plain if isinstance(plain, dict) else {}

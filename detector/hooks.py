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

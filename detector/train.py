"""Train a detector config with mmengine's ``Runner``.

    python -m detector.train CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                    [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

Distributed training works as with mmdet's ``tools/train.py``, e.g.
``torchrun --nproc_per_node=2 -m detector.train CONFIG --launcher pytorch``. Without CUDA the
processes talk over gloo on the CPU (see :func:`cpu_distributed`).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(prog='python -m detector.train',
                                     description='Train a detector with mmengine Runner')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from a checkpoint, or from the latest one in the work dir '
                        'when no path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=1 '
                        'model.backbone.init_cfg=None "train_dataloader.dataset.pipeline.2.scale=(160,128)"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace):
    """The config of ``args`` with the command-line overrides applied."""
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.', file=sys.stderr)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def cpu_distributed(cfg) -> None:
    """Make ``--launcher pytorch`` work on a machine without CUDA: mmengine's launcher selects
    a CUDA device before it starts the process group, and its DDP wrapper names one. So start
    the group over gloo here (mmengine then uses it as it is), and wrap without device ids."""
    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def main(argv: Optional[Sequence[str]] = None):
    """Run training; returns the ``Runner`` (useful to tests and scripts)."""
    args = parse_args(argv)
    from mmdet.utils import register_all_modules
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import detector  # noqa: F401  (registers the detector's modules)

    register_all_modules(init_default_scope=False)
    cfg = build_config(args)
    cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()

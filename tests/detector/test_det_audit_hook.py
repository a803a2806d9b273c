"""The three moments on the detector's stage 2, as a user runs them (``python -m detector.train``,
``torchrun``, ``detaudit logs``) on synthetic data in a temporary project folder:

- stage 2 as the seed's author wrote it (``lr_mult=0``), trained with DetAuditHook: the backbone
  is named trainable before the first iteration; after iteration 1 it is still bitwise the same
  (its lr is exactly 0) although it received gradients; after the first epoch the cosine's
  ``eta_min`` lifts that lr and the hook reports the backbone parameters that changed, on every
  process of a two-process gloo run too; ``fail_on='error'`` stops it before iteration 1;
- the fixed stage 2 (``stage2_kaist_domain_ft_audited.py``): the backbone proved bitwise
  unchanged, the three auxiliary losses present and finite, ``detaudit logs`` clean and stating
  the backbone identical to the stage-1 checkpoint's; resumed halfway with ``lambda1=0``, the
  run is caught by ``detaudit logs`` (``loss_macl`` stuck at 0.0).

One training iteration costs seconds on the CPU, so the runs are one or two epochs of one or
two iterations.
"""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from det_helpers import CONFIGS, ROOT, build_model

SMOKE = [
    'default_hooks.logger.interval=1', 'model.backbone.init_cfg=None',
    'train_dataloader.dataset.pipeline.2.scale=(160,128)', 'val_dataloader.dataset.pipeline.1.scale=(160,128)',
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'train_cfg.val_begin=1000',  # no validation pass: these runs are about training
]
STAGE1 = './work_dirs/stage1_llvip_pretrain/latest.pth'
pytestmark = pytest.mark.slow


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''),
                PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')


def _run(args, cwd, timeout=900, check=True):
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


def _train(config, cwd, work_dir, *options, check=True):
    return _run([sys.executable, '-m', 'detector.train', config, '--work-dir', work_dir, '--cfg-options']
                + SMOKE + list(options), cwd, check=check)


def _logs(cwd, *args):
    return _run([sys.executable, '-m', 'detaudit', 'logs', *args], cwd, check=False)


def _log(work_dir) -> str:
    texts = []
    for launch in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, launch, f'{launch}.log')
        if osp.isfile(path):
            with open(path) as f:
                texts.append(f.read())
    return '\n'.join(texts)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """Synthetic KAIST with two training images (one iteration per epoch at batch size 2; four
    for the two-process run), and a stage-1 checkpoint of the stage-1 model where the stage-2
    configs look for it."""
    from detector.make_synthetic_data import generate
    root = tmp_path_factory.mktemp('hooked')
    generate(str(root / 'data'), seed=0, llvip=dict(train=1, test=1), kaist=dict(train=2, val=1, test=1))
    generate(str(root / 'data4'), seed=0, llvip=dict(train=1, test=1), kaist=dict(train=4, val=1, test=1))
    model, _ = build_model('stage1_llvip_pretrain.py')
    target = root / STAGE1
    target.parent.mkdir(parents=True)
    torch.save({'meta': {'epoch': 1, 'iter': 2}, 'state_dict': model.state_dict()}, target)
    (root / 'as_written_hooked.py').write_text(
        f"_base_ = [{osp.join(CONFIGS, 'stage2_kaist_domain_ft.py')!r}]\n"
        "custom_imports = dict(imports=['detector', 'detaudit.hooks'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='DetAuditHook', interval=1)]\n"
        f"load_from = {STAGE1!r}\n")
    (root / 'as_written_fail_on.py').write_text(
        "_base_ = ['./as_written_hooked.py']\n"
        "custom_hooks = [dict(type='DetAuditHook', fail_on='error')]\n")
    return root


def test_stage2_as_written_the_hook_names_the_backbone_trainable_then_changed(project):
    cwd = str(project)
    _train('as_written_hooked.py', cwd, 'work_dirs/as_written', 'train_cfg.max_epochs=2')
    text = _log(project / 'work_dirs' / 'as_written')
    before = text.index('DetAuditHook before the first iteration: DA102')
    assert 'DA102 [error] backbone: 23,282,688 of 23,508,032 parameters are trainable although lr_mult=0 says it ' \
           'is frozen' in text
    assert 'DetAuditHook before the first iteration: DA101 [error] backbone' in text
    assert before < text.index('Epoch(train) [1][1/1]')
    # iteration 1: lr exactly 0, so bitwise the same, but the gradients are computed
    assert re.search(r'after iteration 1: DA902 \[info\] backbone: all 159 parameters and 159 BatchNorm buffers are '
                     r'bitwise identical between before_train and after iteration 1 \(lr_mult=0 says it is frozen\); '
                     r'but 126 of its parameters received gradients', text)
    # iteration 2, after the first epoch's scheduler step: eta_min lifted the lr_mult=0 group's lr
    m = re.search(r'after iteration 2: DA901 \[error\] backbone: (\d+) of 159 parameters \(([\d,]+) of 23,508,032 '
                  r'elements\) and 0 of 159 BatchNorm buffers changed between before_train and after iteration 2, '
                  r'although lr_mult=0 says it is frozen\. Fix: lr_mult=0 holds only while the group\'s lr is exactly '
                  r'0 \(it is 1\.7e-08 now\)', text)
    assert m and int(m.group(1)) > 0, text[-4000:]
    report = json.loads((project / 'work_dirs' / 'as_written' / 'detaudit.json').read_text())
    codes = {f['code'] for f in report['audits'][0]['findings']}
    assert {'DA101', 'DA102', 'DA901'} <= codes

    after = _logs(cwd, 'work_dirs/as_written')
    assert after.returncode == 1, after.stdout + after.stderr
    assert re.search(rf'DA901 \[error\] backbone: {m.group(1)} of 159 parameters .* changed between load_from '
                     rf'{re.escape(STAGE1)} and the last checkpoint epoch_2.pth \(epoch 2, iter 2\)', after.stdout)


def test_fail_on_error_stops_stage2_as_written_before_the_first_iteration(project):
    proc = _train('as_written_fail_on.py', str(project), 'work_dirs/fail_on', 'train_cfg.max_epochs=1', check=False)
    assert proc.returncode != 0
    message = ("DetAuditHook(fail_on='error') stopped training before the first iteration: 2 finding(s) at or above "
               "error: DA101 backbone: custom key 'backbone' sets lr_mult=0 on 126 parameters")
    assert message in proc.stderr
    work = project / 'work_dirs' / 'fail_on'
    assert 'Epoch(train)' not in _log(work) and not list(work.glob('*.pth'))
    assert json.loads((work / 'detaudit.json').read_text())['summary']['error'] == 2


def test_fixed_stage2_proves_the_freeze_and_the_losses_and_catches_macl_switched_off_halfway(project):
    cwd = str(project)
    config = osp.join(CONFIGS, 'stage2_kaist_domain_ft_audited.py')
    _train(config, cwd, 'work_dirs/fixed', 'train_cfg.max_epochs=1')
    text = _log(project / 'work_dirs' / 'fixed')
    assert re.search(r'after iteration 1: DA902 \[info\] backbone: all 159 parameters and 159 BatchNorm buffers are '
                     r'bitwise identical between before_train and after iteration 1 \(frozen_stages=4 and '
                     r'FreezeModulesHook say it is frozen\)', text)
    losses = re.search(r'after iteration 1: expected losses present and finite in every logged iteration so far: '
                       r'(.*) \(expected: DetAuditHook\(expect_losses=\.\.\.\)\)', text)
    assert losses and [k.split('=')[0] for k in losses.group(1).split(', ')] == ['loss_macl', 'loss_dhn',
                                                                                   'loss_domain']
    assert 'DetAuditHook before the first iteration: 0 error(s)' in text

    clean = _logs(cwd, 'work_dirs/fixed')
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert (f'DA902 [info] backbone: all 159 parameters and 159 BatchNorm buffers are bitwise identical between '
            f'load_from {STAGE1} and the last checkpoint epoch_1.pth') in clean.stdout

    # resumed for three more iterations with the MACL term's weight at 0
    _run([sys.executable, '-m', 'detector.train', config, '--work-dir', 'work_dirs/fixed', '--resume',
          '--cfg-options'] + SMOKE + ['train_cfg.max_epochs=4', 'model.roi_head.lambda1=0.0'], cwd)
    caught = _logs(cwd, 'work_dirs/fixed', '--format', 'json')
    assert caught.returncode == 1, caught.stdout[-3000:] + caught.stderr
    findings = json.loads(caught.stdout)['audits'][0]['findings']
    macl = [f for f in findings if f['code'] == 'DA905']
    assert [f['message'].split(':')[0] for f in macl] == [
        'loss_macl is exactly 0.0 since iteration 2 (3 of 4 logged iterations, up to 4), after changing before']
    # the backbone held through both launches, against the checkpoint the first one loaded
    assert any(f['code'] == 'DA902' and f"load_from {STAGE1}" in f['message'] for f in findings)
    assert not [f for f in findings if f['code'] in ('DA901', 'DA903', 'DA904', 'DA906')]


def test_two_processes_compare_their_digests_and_agree(project):
    """torchrun with two CPU processes over gloo: each process checks its own replica, the
    findings are gathered, and the first process logs and writes them."""
    import socket
    cwd = str(project)
    with socket.socket() as s:  # a free port: other runs may share the machine
        s.bind(('127.0.0.1', 0))
        port = str(s.getsockname()[1])
    _run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', port,
          '-m', 'detector.train', 'as_written_hooked.py', '--launcher', 'pytorch', '--work-dir', 'work_dirs/ddp',
          '--cfg-options'] + SMOKE + ['train_cfg.max_epochs=2', "train_dataloader.dataset.data_root=data4/KAIST_processed/"],
         cwd)
    text = _log(project / 'work_dirs' / 'ddp')
    assert re.search(r'after iteration 1: DA902 \[info\] backbone \(frozen_stages=1 freezes stem\+layer1 only\): all 33 '
                     r'parameters .* \(every process\)', text)
    assert re.search(r'after iteration 2: DA901 \[error\] backbone: \d+ of 159 parameters .* \(every process\)', text)
    assert text.count('after iteration 2: DA901') == 1  # logged once, by the first process
    report = json.loads((project / 'work_dirs' / 'ddp' / 'detaudit.json').read_text())
    runtime = [f for f in report['audits'][0]['findings'] if f['code'] in ('DA901', 'DA902')]
    assert runtime and all(f['evidence']['ranks'] == [0, 1] for f in runtime)

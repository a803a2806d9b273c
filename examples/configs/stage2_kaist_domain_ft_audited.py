# Stage 2, the fixed recipe, with detaudit watching the training from inside (DetAuditHook).
#
# Before the first iteration the hook audits what the Runner built (the model after load_from and
# the freeze hooks, the optimizer and its parameter groups, this config) and stops the run on an
# error finding (fail_on='error'). After iteration 1 it proves on every process that the backbone
# is bitwise what load_from gave it, and that loss_macl, loss_dhn and loss_domain are logged and
# finite. Its report is <work_dir>/detaudit.json; `detaudit logs <work_dir>` audits the run
# afterwards from its logs and checkpoints.
_base_ = ['./stage2_kaist_domain_ft_fixed.py']
custom_imports = dict(imports=['detector', 'detaudit.hooks'], allow_failed_imports=False)
custom_hooks = [
    dict(type='FreezeModulesHook', modules=['backbone'], norm_eval=True),
    dict(type='WeightsOnlyCheckpointHook'),
    dict(type='DetAuditHook', expect_losses=['loss_macl', 'loss_dhn', 'loss_domain'], fail_on='error'),
]

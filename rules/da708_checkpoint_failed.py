from detaudit.rule import rule
from detaudit.rule.run import failures_of, violation, where


@rule(code="DA708", name="checkpoint-failed", severity="error", tier="run", needs=("run_result",))
def checkpoint_failed(ctx):
    """A checkpoint cannot be written by the config's CheckpointHook, or training cannot resume from it.

    ## What it does
    At the end of the dry run's short schedule the config's own ``CheckpointHook`` writes a
    checkpoint; a fresh Runner then resumes from it (``resume=True``) for one more iteration.
    Reports a checkpoint that is not written, or that the resume cannot load or continue from.
    When only PyTorch's weights-only loading refuses it (torch 2.6 and later load checkpoints
    weights-only by default, and mmengine's checkpoints hold objects that refuses), the finding
    is a warning with the fix: this is the environment, not the config.

    ## Why is this bad?
    A job that cannot resume loses everything since its start when it is preempted or crashes;
    one that cannot write checkpoints ends with nothing to show.

    ## Example
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, out_dir='/mnt/readonly/ckpt'))
    ```

    ## Use instead
    ```python
    default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1))   # into work_dir
    ```
    """
    for f in failures_of(ctx, "checkpoint"):
        if f.detail.get("weights_only"):
            v = violation(f, f"training cannot resume from its own checkpoint ({f.detail.get('checkpoint')}): torch "
                             "loads weights-only by default and refuses the objects mmengine stores in it; it "
                             "resumes with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1",
                          "set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 in the training environment (or use a torch "
                          "before 2.6 with this mmengine)")
            v.severity = "warning"
            yield v
            continue
        yield violation(f, f"the checkpoint fails {where(f)}: {f.error.short()}",
                        "fix the CheckpointHook's arguments (out_dir, interval, by_epoch); run with --debug")

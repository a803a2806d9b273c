from pathlib import Path

from detaudit.rule import Violation, rule


@rule(code="DA201", name="load-from-missing", severity="error", tier="static", needs=("pretrained_sources",))
def load_from_missing(ctx):
    """``load_from`` names a checkpoint file that is not there.

    ## What it does
    Resolves a local ``load_from`` path the way training will: relative paths against the
    directory training is launched from (the current directory). Reports the absolute path
    tried and the nearest candidates: other ``*.pth`` files in that folder and the file a
    ``last_checkpoint`` there points to. Remote sources are covered by DA205.

    ## Why is this bad?
    A stage-2 recipe whose stage-1 checkpoint is missing either crashes after the job
    waited for its GPUs or, where the path is guarded, trains from the ImageNet or random
    initialization: the whole premise of the stage is lost without an error.

    ## Example
    ```python
    load_from = './work_dirs/stage1_llvip_pretrain/epoch_latest.pth'  # never written
    ```

    ## Use instead
    ```python
    load_from = './work_dirs/stage1_llvip_pretrain/epoch_12.pth'  # what stage 1 wrote
    ```
    """
    for src in ctx.pretrained_sources:
        if src.kind != "load_from" or src.remote or src.available:
            continue
        tried = Path(src.source).expanduser()
        if not tried.is_absolute():
            tried = (ctx.base_dir / tried).resolve()
        folder = tried.parent
        candidates = []
        if folder.is_dir():
            candidates = sorted(str(p) for p in folder.glob("*.pth"))[:10]
            last = folder / "last_checkpoint"
            if last.is_file():
                try:
                    pointed = last.read_text().strip()
                except OSError:
                    pointed = ""
                if pointed:  # what mmengine's last_checkpoint names comes first, once
                    candidates = [pointed] + [c for c in candidates if c != pointed]
        reason = "does not exist" if not tried.exists() else "is not a readable file"
        where = f"folder {folder} " + ("exists" if folder.is_dir() else "does not exist either")
        yield Violation(
            message=f"load_from '{src.source}' {reason}: tried {tried} (relative to the launch directory "
                    f"{ctx.base_dir}); {where}",
            key_path="load_from",
            evidence={"path": src.source, "absolute": str(tried), "launch_dir": str(ctx.base_dir),
                      "candidates": candidates},
            fix=(f"point load_from at one of: {', '.join(candidates[:3])}" if candidates
                 else "run the stage that writes this checkpoint first, or fix the path"),
        )

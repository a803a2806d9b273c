"""A finished (or running) training read from its work dir: the source of the ``training``
facts for ``detaudit logs``.

- ``frozen_state``: every tensor of a frozen module compared, with ``torch.equal``, between the
  run's reference (its ``load_from`` checkpoint; without one, its first checkpoint) and its
  last checkpoint, both read without running pickled code (:func:`.checkpoint.read_checkpoint`).
- ``loss_log``: the loss keys of the scalar logs, iteration by iteration.
- ``lr_log``: the logged lr against the configured ``param_scheduler`` replayed
  (:mod:`.lr_replay`), starting from the lr the config's optimizer gives the first parameter
  group (the one mmengine logs).
- ``grad_coverage``: not in logs or checkpoints; DetAuditHook observes it.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import FactUnavailable
from ..load.workdir import WorkDir, epoch_length, numbers, training_records
from .training import FrozenState, LossLog, LrLog, compare, frozen_groups


class WorkDirRun:
    def __init__(self, wd: WorkDir, *, expect_losses=None, expect_losses_source: str = "--expect-losses"):
        self.wd = wd
        self.expect_losses = list(expect_losses or [])
        self.expect_losses_source = expect_losses_source
        self._records = None

    @property
    def records(self):
        if self._records is None:
            self._records = training_records(self.wd)
        return self._records

    def _rows(self, name: str) -> list[dict]:
        rows = self.records.rows
        if not rows:
            raise FactUnavailable(name, f"{self.wd.path} has no logged training iteration "
                                        "(no <launch>/vis_data/scalars.json with an 'iter')")
        return rows

    def _where(self) -> str:
        files = self.records.files
        if len(files) == 1:
            return str(files[0])
        return f"{len(files)} launches' scalar logs in {self.wd.path}"

    # ------------------------------------------------------------------ losses
    def loss_log(self, ctx) -> LossLog:
        rows = self._rows("loss_log")
        log = LossLog(source=self._where())
        if self.expect_losses:
            log.expect(self.expect_losses, self.expect_losses_source)
        for row in rows:
            log.add(int(row["iter"]), numbers(row))
        return log

    # ------------------------------------------------------------------ lr
    def lr_log(self, ctx) -> LrLog:
        from .lr_replay import describe, replay, scheduler_entries

        rows = [r for r in self._rows("lr_log") if "lr" in numbers(r)]
        if not rows:
            raise FactUnavailable("lr_log", "the logs hold no 'lr' (a run with several optimizers logs one per "
                                            "optimizer)")
        wrapper = ctx.optim_wrapper
        initial = float(wrapper.optimizer.param_groups[0]["lr"])
        by_epoch_loop = any("epoch" in r for r in rows)
        length = epoch_length(self.wd, rows)
        expected = replay(ctx.cfg, initial, int(rows[-1]["iter"]), length, by_epoch_loop)
        points = [(int(r["iter"]), numbers(r)["lr"], expected[int(r["iter"])]) for r in rows]
        scale, note = 1.0, ""
        auto = ctx.config_value("auto_scale_lr.enable", False)
        if auto and points and points[0][2]:
            scale = points[0][1] / points[0][2]  # batch size x processes is not in the logs
            note = f"auto_scale_lr is enabled: the lr was scaled by {scale:.6g} (read from the first record)"
            points = [(i, logged, exp * scale) for i, logged, exp in points]
        return LrLog(source=self._where(), schedule=describe(scheduler_entries(ctx.cfg)), initial_lr=initial,
                     points=points, scale=scale, note=note)

    # ------------------------------------------------------------------ gradients
    def grad_coverage(self, ctx):
        raise FactUnavailable("grad_coverage", "logs and checkpoints do not record gradients; DetAuditHook "
                                               "names trainable parameters without one during training")

    # ------------------------------------------------------------------ frozen modules
    def frozen_state(self, ctx) -> FrozenState:
        groups = frozen_groups(ctx.freeze_intents, ctx.model)
        if not groups:
            return FrozenState(reference="", current="", method="", modules=[])  # nothing said frozen
        last = self.wd.last_checkpoint
        if last is None:
            raise FactUnavailable("frozen_state", f"{self.wd.path} holds no checkpoint (*.pth) to compare")
        reference, label = self._reference(ctx)
        if reference is None:
            raise FactUnavailable("frozen_state", label)
        if Path(reference).resolve() == last.resolve():
            raise FactUnavailable("frozen_state", f"the run's only checkpoint is its reference ({label})")
        before, _ = self._tensors(reference, "frozen_state")
        after, meta = self._tensors(str(last), "frozen_state")
        import torch

        numel = {n: p.numel() for n, p in ctx.model.named_parameters()}
        states = compare(groups, before, after, numel,
                         same=lambda a, b: a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b))
        progress = ", ".join(f"{k} {meta[k]}" for k in ("epoch", "iter") if k in meta)
        where = f"the last checkpoint {last.name}" + (f" ({progress})" if progress else "")
        return FrozenState(reference=label, current=where,
                           method="tensor by tensor (torch.equal)", modules=states)

    def _reference(self, ctx) -> tuple[str | None, str]:
        """The checkpoint the run started from, and how to name it; or (None, why not)."""
        from .pretrained import resolve

        source = self._load_from(ctx)
        if source:
            local, remote = resolve(str(source), ctx.base_dir)
            if local is not None:
                return local, f"load_from {source}"
            if remote:
                return None, (f"load_from '{source}' is remote and not in the local cache; detaudit does not "
                              "download it")
            return None, (f"load_from '{source}' is not found from {ctx.base_dir} (relative paths resolve "
                          "against the directory training was launched from: run from there, or pass "
                          "--cfg-options load_from=PATH)")
        first = self.wd.first_checkpoint
        if first is None:
            return None, "the run sets no load_from and holds no checkpoint"
        return str(first), f"the run's first checkpoint {first.name} (it sets no load_from)"

    def _load_from(self, ctx):
        """``load_from`` of the launch that started the run: a resumed launch's config names the
        checkpoint it resumed from (or nothing), not the run's starting weights."""
        if "load_from" in ctx.options.cfg_options or not ctx.config_value("resume", False):
            return ctx.cfg.get("load_from", None)
        for launch in self.wd.launches:
            if launch.config is None:
                continue
            cfg = _read_config(launch.config)
            if cfg is not None and not cfg.get("resume", False):
                return cfg.get("load_from", None)
        return None

    def _tensors(self, path: str, name: str):
        from .checkpoint import _plain_meta, read_checkpoint, revise_keys, state_dict_of
        from .sandbox import no_network, quiet

        try:
            with quiet(), no_network():
                checkpoint, _ = read_checkpoint(path)
        except Exception as exc:  # noqa: BLE001 - any file may sit there
            raise FactUnavailable(name, f"{path} could not be read as a checkpoint: {type(exc).__name__}: {exc}")
        raw = state_dict_of(checkpoint)
        renames, _ = revise_keys(raw)
        return {renames[k]: v for k, v in raw.items()}, _plain_meta(checkpoint)


def _read_config(path: Path):
    from mmengine.config import Config

    from .sandbox import quiet

    try:
        with quiet():
            return Config.fromfile(str(path))
    except Exception:  # noqa: BLE001 - an unreadable launch config: the next launch may tell
        return None

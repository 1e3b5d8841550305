"""Checkpoints a killed or preempted run can continue from exactly.

Lightning saves weights, optimiser, scheduler, loop progress and callback state; this module adds
what it leaves out and makes the files safe: writes that a kill cannot leave half done
(temporary file, then rename), loading with `weights_only=True`, the random generators of every
rank (restored just before the first batch after a resume, so that SpecAugment and dropout
draw what an unbroken run would have drawn), a checkpoint on SIGTERM/SIGUSR1, and `resume=auto`.
Where the loader stands inside its epoch is the data module's part (`SpeechDataModule.state_dict`).
"""

from __future__ import annotations

import csv
import logging
import os
import random
import signal
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException

from asr.atomic import atomic_path

log = logging.getLogger(__name__)

LAST = "last.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """torch.save to a temporary beside the target, then an atomic rename (`atomic_path`): a kill
    during the write leaves the previous checkpoint intact. Loads with `weights_only=True`: a
    checkpoint cannot run code."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        with atomic_path(path) as partial:
            torch.save(checkpoint, partial)

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict:
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)


def find_resume_checkpoint(resume: str | None, run_dir: Path) -> Path | None:
    """The checkpoint `resume` names: None for a fresh run; `auto`: the newest checkpoint of the
    run folder (`checkpoints/*.ckpt`, or a SLURM requeue's `hpc_ckpt_*.ckpt`), None when there is
    none yet; anything else is a path that must exist."""
    if resume is None:
        return None
    if resume != "auto":
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(
                f"resume={resume}: no such checkpoint (use resume=auto for the run folder's newest)"
            )
        return path
    found = [*(run_dir / "checkpoints").glob("*.ckpt"), *run_dir.glob("hpc_ckpt_*.ckpt")]
    if not found:
        log.info("resume=auto: no checkpoint under %s yet, starting fresh", run_dir)
        return None
    newest = max(found, key=lambda p: (p.stat().st_mtime_ns, p.name == LAST))
    log.info("resume=auto: continuing from %s", newest)
    return newest


def csv_logger(run_dir: Path, resume_from: Path | None, flush_every_n_steps: int) -> CSVLogger:
    """The run's CSV log (`logs/version_N/metrics.csv`), flushed as often as checkpoints are saved.

    A resumed run writes the same version on: its rows from before the checkpoint's step are kept
    (Lightning's writer would delete the file), the later ones the resumed run logs again.
    """
    logs = run_dir / "logs"
    versions = sorted(int(d.name[8:]) for d in logs.glob("version_*") if d.name[8:].isdigit())
    if resume_from is None or not versions:
        return CSVLogger(run_dir, name="logs", flush_logs_every_n_steps=flush_every_n_steps)
    logger = CSVLogger(
        run_dir, name="logs", version=versions[-1], flush_logs_every_n_steps=flush_every_n_steps
    )
    old = Path(logger.log_dir) / "metrics.csv"
    rows = list(csv.DictReader(old.open(newline=""))) if old.is_file() else []
    step = torch.load(resume_from, map_location="cpu", weights_only=True, mmap=True)["global_step"]
    counters = ("epoch", "step")
    writer = logger.experiment
    writer.metrics = [
        {k: int(float(v)) if k in counters else float(v) for k, v in row.items() if v != ""}
        for row in rows
        if int(row["step"]) < step
    ]
    writer.metrics_keys = list(rows[0]) if rows else []
    return logger


def _rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class ResumableTraining(Callback):
    """`last.ckpt`: every `every_n_steps` training steps, at every epoch's end and when a signal
    stops the run; with the random generator states of every rank inside.

    SIGTERM only raises a flag; at the end of the training batch every rank learns whether any
    rank has it (an all-reduce under DDP), and then all of them save the checkpoint together and
    stop with SIGTERMException, exit status 0. Lightning's own SIGTERM handler is replaced once
    training starts: under DDP it broadcasts from inside the signal handler, which deadlocks
    against whatever collective the other ranks are in (seen: the gradient all-reduce). SIGUSR1
    (what SLURM sends ahead of a time limit with `--signal=USR1@90`) does the same outside SLURM;
    under SLURM Lightning's own handler saves `hpc_ckpt_N.ckpt` and requeues the job, whose
    `resume=auto` picks it up. A signal during validation takes effect at the next training batch.
    """

    def __init__(self, last: Path, every_n_steps: int) -> None:
        if every_n_steps < 1:
            raise ValueError(
                f"checkpoint_every_n_steps must be a positive number of steps, not {every_n_steps}"
            )
        self.last = last
        self.every_n_steps = every_n_steps
        self._pending: list[dict] | None = None
        self._usr1: Any = None
        self._signalled = False
        self._saved_on_signal = False

    def state_dict(self) -> dict:
        states = [_rng_state()]
        if dist.is_available() and dist.is_initialized():
            states = [None] * dist.get_world_size()
            dist.all_gather_object(states, _rng_state())
        return {"rng": states}

    def load_state_dict(self, state_dict: dict) -> None:
        self._pending = state_dict["rng"]

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._pending is None:
            return
        states, self._pending = self._pending, None
        if len(states) == trainer.world_size:
            _set_rng_state(states[trainer.global_rank])
        else:
            log.warning(
                "the checkpoint holds random states of %d ranks, this run has %d: continuing with "
                "fresh draws (statistically the same, not identical to an unbroken run)",
                len(states),
                trainer.world_size,
            )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        signal.signal(signal.SIGTERM, self._flag_signal)  # Lightning restores the original at teardown

    def _flag_signal(self, signum: int, frame: Any) -> None:
        self._signalled = True

    def _signalled_anywhere(self, trainer: L.Trainer) -> bool:
        if not (dist.is_available() and dist.is_initialized() and trainer.world_size > 1):
            return self._signalled
        flag = torch.tensor([float(self._signalled)], device=trainer.strategy.root_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._signalled_anywhere(trainer):
            trainer.save_checkpoint(self.last, weights_only=False)
            self._saved_on_signal = True
            raise SIGTERMException
        if trainer.global_step % self.every_n_steps == 0:
            trainer.save_checkpoint(self.last, weights_only=False)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.last, weights_only=False)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if hasattr(signal, "SIGUSR1") and signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, None):
            self._usr1 = signal.signal(signal.SIGUSR1, lambda *_: os.kill(os.getpid(), signal.SIGTERM))

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._usr1 is not None:
            signal.signal(signal.SIGUSR1, self._usr1)
            self._usr1 = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException):
            if not self._saved_on_signal:  # Lightning's handler, before training started
                trainer.save_checkpoint(self.last, weights_only=False)
            if trainer.is_global_zero:
                log.warning(
                    "stopped by a signal at step %d; saved %s (continue with resume=auto)",
                    trainer.global_step,
                    self.last,
                )

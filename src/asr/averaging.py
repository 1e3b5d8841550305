"""Checkpoint averaging: the mean of the weights of a run's last epochs, a recogniser that often
generalises better than any one of them (the averaging of ESPnet's and fairseq's recipes).

The average is a checkpoint for decoding, transcription and export (hyperparameters and weights),
not one to resume from: optimiser and loop state belong to single points of a run, not to a mean.
It is written into the folder of the checkpoints it averages, so the run's lexicon, LM and tuned
decoder weights are found beside it as for `best.ckpt`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch

from asr.checkpointing import AtomicCheckpointIO

log = logging.getLogger(__name__)

EPOCH_NAME = "epoch{epoch:03d}"  # the training callback's file name pattern (epochNNN.ckpt)


def epoch_checkpoints(folder: Path) -> list[Path]:
    """The run's per-epoch checkpoints in `folder`, oldest first."""
    found = [p for p in folder.glob("epoch*.ckpt") if re.fullmatch(r"epoch\d+\.ckpt", p.name)]
    return sorted(found, key=lambda p: int(p.stem[5:]))


def average_checkpoints(paths: list[Path]) -> dict:
    """The common hyperparameters of `paths` and the element-wise mean of their weights.

    Every checkpoint must have the same hyperparameters (the same recogniser); a mismatch names
    the file.
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    first = torch.load(paths[0], map_location="cpu", weights_only=True)
    hparams, total = first["hyper_parameters"], {k: v.double() for k, v in first["state_dict"].items()}
    for path in paths[1:]:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt["hyper_parameters"] != hparams or ckpt["state_dict"].keys() != total.keys():
            raise ValueError(
                f"{path} holds another recogniser than {paths[0]}: average checkpoints of one run"
            )
        for name, weights in ckpt["state_dict"].items():
            total[name] += weights.double()
    dtypes = {k: v.dtype for k, v in first["state_dict"].items()}
    state = {k: (v / len(paths)).to(dtypes[k]) for k, v in total.items()}
    return {"hyper_parameters": hparams, "state_dict": state, "averaged": [str(p) for p in paths]}


def average_run(folder: Path, last: int, out: Path | None = None) -> Path:
    """Average the `last` newest per-epoch checkpoints in `folder` into `out` (default
    `folder/averaged.ckpt`); return its path."""
    found = epoch_checkpoints(folder)
    if last < 1 or len(found) < last:
        raise ValueError(
            f"{folder} has {len(found)} per-epoch checkpoints, cannot average the last {last}: "
            "train with keep_epoch_checkpoints >= that number"
        )
    chosen = found[-last:]
    out = out or folder / "averaged.ckpt"
    AtomicCheckpointIO().save_checkpoint(average_checkpoints(chosen), out)
    log.info("averaged %s into %s", ", ".join(p.name for p in chosen), out)
    return out

"""Which precision training runs in on the CPU: `trainer.precision: auto` (conf/trainer/cpu.yaml).

Under bf16 autocast a training step of the demo's recogniser takes 0.61-0.81 of float32's on a
CPU with bf16 arithmetic in hardware (AVX-512 BF16 or AMX), and the demo's model is as accurate
(RESULTS, "Batching by perturbed length, and bf16"). Without it oneDNN emulates bf16 or cannot
run the LSTM in it at all (`recurrent.onednn_lacks_bf16`), so there training stays in float32.
The choice is made once, where the trainer config enters, into a value Lightning takes.
"""

from __future__ import annotations

import logging

import torch

AUTO = "auto"
log = logging.getLogger(__name__)


def native_bf16() -> bool:
    """Whether this CPU computes in bf16 in hardware (torch's own CPU feature checks)."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve_precision(trainer: dict) -> dict:
    """The trainer settings with `precision: auto` made bf16-mixed or 32-true for this CPU; any
    other precision is Lightning's to read."""
    if trainer.get("precision") != AUTO:
        return trainer
    accelerator = trainer.get("accelerator")
    if accelerator != "cpu":
        raise ValueError(
            f"trainer.precision=auto chooses for the CPU, not for accelerator {accelerator!r}: "
            "give a precision Lightning takes, e.g. trainer.precision=16-mixed"
        )
    precision = "bf16-mixed" if native_bf16() else "32-true"
    log.info("trainer.precision=auto: %s", precision)
    return trainer | {"precision": precision}

"""Audio decoding: any file soundfile reads, to float32 mono at the model's sample rate.

torchaudio >= 2.9 no longer decodes files itself, so soundfile reads and torchaudio resamples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF


class AudioError(RuntimeError):
    """An audio file that cannot be turned into a waveform."""


def to_mono_resampled(samples: np.ndarray, sample_rate: int, target_rate: int) -> torch.Tensor:
    """Mix channels (frames x channels, or 1-D) down to mono and resample to `target_rate`."""
    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    if wave.ndim == 2:
        wave = wave.mean(dim=1)
    if sample_rate != target_rate:
        wave = AF.resample(wave, sample_rate, target_rate)
    return wave


def load_audio(path: str | Path, sample_rate: int = 16000) -> torch.Tensor:
    """Decode `path` to a 1-D float32 tensor at `sample_rate`."""
    try:
        samples, file_rate = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if samples.size == 0:
        raise AudioError(f"audio file {path} has no samples")
    return to_mono_resampled(samples, file_rate, sample_rate)

"""Audio decoding: any file soundfile reads, to float32 mono at the model's sample rate, as numpy.

torchaudio >= 2.9 no longer decodes files itself, so soundfile reads and torchaudio resamples.
torch is imported only when a file's rate differs from the model's: transcribing with the ONNX
backend then never imports it, and importing torch alone takes longer than that whole command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")  # what a folder given for transcription is searched for


class AudioError(RuntimeError):
    """An audio file that cannot be turned into a waveform."""


def to_mono_resampled(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """Mix channels (frames x channels, or 1-D) down to 1-D float32 mono at `target_rate`."""
    wave = np.ascontiguousarray(samples, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=1, dtype=np.float32)
    if sample_rate == target_rate:
        return wave
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(wave), sample_rate, target_rate).numpy()


SEGMENT_TOLERANCE = 0.01  # seconds a segment may run past its file's end: manifests round durations


def load_audio(
    path: str | Path, sample_rate: int = 16000, offset: float | None = None, duration: float | None = None
) -> np.ndarray:
    """Decode `path` to 1-D float32 samples at `sample_rate`: the whole file, or with `offset`
    the `duration` seconds from there (only those are read: soundfile seeks)."""
    try:
        with sf.SoundFile(str(path)) as f:
            file_rate = f.samplerate
            if offset is None:
                samples = f.read(dtype="float32", always_2d=False)
            else:
                start, wanted = round(offset * file_rate), round(duration * file_rate)
                if start + wanted > f.frames + SEGMENT_TOLERANCE * file_rate:
                    raise AudioError(
                        f"segment {offset:g} s + {duration:g} s of {path} runs past the file's end "
                        f"({f.frames / file_rate:.2f} s): fix the row's offset or duration"
                    )
                f.seek(start)
                samples = f.read(wanted, dtype="float32", always_2d=False)
    except AudioError:
        raise
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if samples.size == 0:
        raise AudioError(f"audio file {path} has no samples")
    return to_mono_resampled(samples, file_rate, sample_rate)

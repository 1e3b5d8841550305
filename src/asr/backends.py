"""Where the acoustic model runs: torch (a training checkpoint) or onnxruntime (an exported file).

Both give the Transcriber the same `Runner`: numpy waveforms (B, N) and lengths in, numpy
log-probabilities (B, T, vocab) and frame counts out, with the tokenizer, sample rate and frame
rate beside it. torch is imported only for the torch backend: importing it takes longer than a
whole one-file transcription with the ONNX backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np

from asr.choices import Choice
from asr.text import CharTokenizer

if TYPE_CHECKING:
    from asr.attention import AttentionDecoder

METADATA_KEY = "asr.recognizer"  # written by `asr.export` into the ONNX file's metadata


class Backend(Choice):
    TORCH = "torch"
    ONNX = "onnx"


class Runner(Protocol):
    tokenizer: CharTokenizer
    sample_rate: int
    frames_per_second: float
    attention: AttentionDecoder | None  # a model=ctc_attention recogniser's decoder, run in torch
    per_speaker: bool  # features.normalize=speaker: every call takes each row's speaker mean

    def __call__(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def speaker_mean(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """One speaker's mean feature frame over `waves` (per_speaker runners only)."""
        ...


class OnnxRunner:
    """An exported recogniser run by onnxruntime (on the GPU where its CUDA provider is present
    and `device` allows)."""

    attention = None  # export refuses attention models: the ONNX graph is a CTC recogniser
    per_speaker = False  # and speaker-normalised ones

    def __init__(self, path: str | Path, device: str = "auto") -> None:
        import onnxruntime

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model {path} does not exist: export one with scripts/export.py")
        providers = ["CPUExecutionProvider"]
        if device != "cpu" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its shape-inference warnings are not the user's concern
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        meta = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        if meta is None:
            raise ValueError(f"{path} was not written by scripts/export.py (no {METADATA_KEY} metadata)")
        config = json.loads(meta)
        self.tokenizer = CharTokenizer.from_dict(config["tokenizer"])
        self.sample_rate: int = config["sample_rate"]
        self.frames_per_second: float = config["frames_per_second"]

    def __call__(
        self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        log_probs, frames = self.session.run(None, {"waves": waves, "lengths": lengths})
        return log_probs, frames


Checkpoints: TypeAlias = "str | Path | Sequence[str | Path]"


def checkpoint_paths(value: Checkpoints) -> list[Path]:
    """`ckpt` as given: one path, or a list of them (`ckpt=[a.ckpt,b.ckpt]`, an ensemble)."""
    paths = [Path(value)] if isinstance(value, str | Path) else [Path(v) for v in value]
    if not paths:
        raise ValueError("ckpt is an empty list: give a checkpoint, or a list of them for an ensemble")
    return paths


def load_acoustic_model(path: Checkpoints, backend: Backend, device: str = "auto") -> Runner:
    """A training checkpoint (torch) or an exported ONNX file (onnx), ready to run on `device`;
    several of either, an ensemble of them (`asr.ensemble`)."""
    paths = checkpoint_paths(path)
    if len(paths) > 1:
        from asr.ensemble import EnsembleRunner

        return EnsembleRunner(
            [load_acoustic_model(p, backend, device) for p in paths], [str(p) for p in paths]
        )
    if backend is Backend.ONNX:
        return OnnxRunner(paths[0], device)
    from asr.recognizer import Recognizer, TorchRunner

    return TorchRunner(Recognizer.from_checkpoint(paths[0]), device)

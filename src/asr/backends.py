"""Where the acoustic model runs: torch (a training checkpoint) or onnxruntime (an exported file).

Both give the Transcriber the same thing: a callable from padded waveforms and lengths to
log-probabilities and frame counts, with the tokenizer, sample rate and frame rate beside it.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import numpy as np
import torch

from asr.recognizer import Recognizer
from asr.text import CharTokenizer

METADATA_KEY = "asr.recognizer"  # written by `asr.export` into the ONNX file's metadata


class Backend(Enum):
    TORCH = "torch"
    ONNX = "onnx"

    @classmethod
    def parse(cls, value: str) -> Backend:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"backend must be torch or onnx (backend=torch|onnx), not {value!r}") from None


class OnnxRecognizer:
    """An exported recogniser run by onnxruntime, called like `Recognizer`."""

    def __init__(self, path: str | Path, device: torch.device) -> None:
        import onnxruntime

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model {path} does not exist: export one with scripts/export.py")
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
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

    def __call__(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = {"waves": waves.float().cpu().numpy(), "lengths": lengths.cpu().numpy().astype(np.int64)}
        log_probs, frames = self.session.run(None, inputs)
        return torch.from_numpy(log_probs), torch.from_numpy(frames)

    def to(self, device: torch.device) -> OnnxRecognizer:
        return self

    def eval(self) -> OnnxRecognizer:
        return self


def load_recognizer(path: str | Path, backend: Backend, device: torch.device) -> Recognizer | OnnxRecognizer:
    """A training checkpoint (torch) or an exported ONNX file (onnx)."""
    if backend is Backend.ONNX:
        return OnnxRecognizer(path, device)
    return Recognizer.from_checkpoint(path)

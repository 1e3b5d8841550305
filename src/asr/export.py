"""Export a trained recogniser, features included, to ONNX or TorchScript.

The exported graph takes what the recogniser takes, waveforms (batch, samples) at its sample rate
and their lengths, and returns log-probabilities (batch, frames, vocab) and their lengths. ONNX has
no complex STFT, so for export the spectrogram runs as a 1-D convolution with the same windowed
DFT basis (`DftSpectrogram`); the parity tests bound what that substitution changes.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn
from torchaudio.transforms import Spectrogram

from asr.backends import METADATA_KEY
from asr.cells import PeepholeLSTM
from asr.choices import Choice
from asr.frontends import ConvLSTMFrontend
from asr.recognizer import Recognizer

INPUTS = ("waves", "lengths")
OUTPUTS = ("log_probs", "frames")
ONNX_OPSET = 17


class ExportFormat(Choice):
    ONNX = "onnx"
    TORCHSCRIPT = "torchscript"


class DftSpectrogram(nn.Module):
    """torchaudio's power `Spectrogram` (centred, reflect-padded) as a convolution with a windowed
    DFT basis: real operations only, so ONNX and TorchScript graphs carry it."""

    def __init__(self, spectrogram: Spectrogram) -> None:
        super().__init__()
        if spectrogram.power != 2.0 or not spectrogram.center or spectrogram.normalized:
            raise ValueError("only a centred, unnormalised power spectrogram can be exported")
        self.n_fft, self.hop = spectrogram.n_fft, spectrogram.hop_length
        window = spectrogram.window
        left = (self.n_fft - len(window)) // 2
        window = nn.functional.pad(window, (left, self.n_fft - len(window) - left))
        bins = torch.arange(self.n_fft // 2 + 1, dtype=torch.float64)[:, None]
        phase = 2 * math.pi * bins * torch.arange(self.n_fft, dtype=torch.float64)[None, :] / self.n_fft
        basis = torch.cat([torch.cos(phase), -torch.sin(phase)]) * window.double()
        self.register_buffer("basis", basis.float()[:, None, :])

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(waves[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        real, imag = nn.functional.conv1d(x, self.basis, stride=self.hop).chunk(2, dim=1)
        return real**2 + imag**2


def exportable(recognizer: Recognizer) -> Recognizer:
    """A copy of `recognizer`, in eval mode on the CPU, with the spectrogram as a convolution."""
    if any(isinstance(layer, PeepholeLSTM) for layer in recognizer.model.rnn.layers):
        raise ValueError(
            "the peephole LSTM runs a Python loop over time, which a traced graph would freeze to one "
            "length: export supports model.rnn_type=lstm|gru|rnn"
        )
    if isinstance(recognizer.model.frontend, ConvLSTMFrontend):
        raise ValueError(
            "the ConvLSTM front end runs a Python loop over time, which a traced graph would freeze to "
            "one length: export supports model.frontend=stack|conv"
        )
    if recognizer.attention is not None:
        raise ValueError(
            "a model=ctc_attention graph would carry its CTC branch only, and its joint search needs the "
            "attention decoder: transcribe it with backend=torch and decoder=joint"
        )
    if recognizer.per_speaker:
        raise ValueError(
            "a features.normalize=speaker recogniser subtracts each speaker's mean frame, which the "
            "exported graph has no input for: transcribe it with backend=torch"
        )
    copied = copy.deepcopy(recognizer).cpu().eval()
    copied.features.mel.spectrogram = DftSpectrogram(copied.features.mel.spectrogram)
    return copied


def example_inputs(recognizer: Recognizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Two waveforms of unequal length: tracing must not fix the batch size or the length."""
    generator = torch.Generator().manual_seed(0)
    rate = recognizer.sample_rate
    waves = 0.1 * torch.randn(2, 2 * rate, generator=generator)
    return waves, torch.tensor([2 * rate, rate + 123])


def export(recognizer: Recognizer, fmt: ExportFormat, out: str | Path) -> Path:
    """Write `recognizer` to `out` as ONNX or TorchScript (traced); return the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = exportable(recognizer)
    inputs = example_inputs(recognizer)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        if fmt is ExportFormat.TORCHSCRIPT:
            torch.jit.trace(model, inputs, check_trace=False).save(str(out))
        else:
            torch.onnx.export(
                model,
                inputs,
                str(out),
                dynamo=False,
                opset_version=ONNX_OPSET,
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                dynamic_axes={
                    "waves": {0: "batch", 1: "samples"},
                    "lengths": {0: "batch"},
                    "log_probs": {0: "batch", 1: "frames"},
                    "frames": {0: "batch"},
                },
            )
        if fmt is ExportFormat.ONNX:
            _add_metadata(out, recognizer)
    return out


def _add_metadata(path: Path, recognizer: Recognizer) -> None:
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(
        {
            "tokenizer": recognizer.tokenizer.to_dict(),
            "sample_rate": recognizer.sample_rate,
            "frames_per_second": recognizer.frames_per_second,
        }
    )
    onnx.save(model, str(path))


def export_checkpoint(ckpt: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """What `scripts/export.py` does: the checkpoint's recogniser exported to `out` (default: beside
    the checkpoint, `.onnx` or `.pt`, where the transcriber also finds the run's lexicon and LM)."""
    parsed = ExportFormat.parse(fmt, "format")
    target = Path(out) if out else Path(ckpt).with_suffix(".onnx" if parsed is ExportFormat.ONNX else ".pt")
    return export(Recognizer.from_checkpoint(ckpt), parsed, target)

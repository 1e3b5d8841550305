"""Front ends: log-mel frames (B, T, n_mels) to the recurrent stack's input at a coarser step.

All divide the frame rate by `stride` with the same output length, ceil(T / stride), so CTC's
frame budget does not depend on which one is chosen.
"""

from __future__ import annotations

import torch
from torch import nn

from asr.cells import ConvLSTM
from asr.padding import length_mask

FRONTENDS = ("stack", "conv", "convlstm")


def strided_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


class FrameStacking(nn.Module):
    """Concatenate `stride` consecutive frames: a `stride`-fold cheaper recurrence for free.

    At 10 ms frames and stride 3 the encoder runs at 30 ms, still more frames than the
    characters of fast speech, which CTC needs.
    """

    def __init__(self, n_mels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.output_size = n_mels * stride

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return strided_lengths(lengths, self.stride)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, time, dim = x.shape
        pad = (-time) % self.stride
        x = nn.functional.pad(x, (0, 0, 0, pad))
        return x.reshape(batch, (time + pad) // self.stride, dim * self.stride), self.output_lengths(lengths)


class ConvFrontend(nn.Module):
    """Two 2-D convolutions over (time, mel) with BatchNorm and a clipped ReLU, as in DeepSpeech2.

    Kernels of 11 frames in time (41 and 21 mel bins), the time stride in the first, the mel axis
    halved by each. Padded frames are zeroed before and after every block, so an utterance's features do not
    depend on how much padding its batch-mates forced on it; the kernels still see 5 frames of
    the future each, a look-ahead a streaming system must wait for.
    """

    def __init__(self, n_mels: int, stride: int, channels: int = 32) -> None:
        super().__init__()
        self.stride = stride
        self.blocks = nn.ModuleList(
            [
                self._block(1, channels, kernel=(11, 41), stride=(stride, 2)),
                self._block(channels, channels, kernel=(11, 21), stride=(1, 2)),
            ]
        )
        mels = n_mels
        for kernel in (41, 21):
            mels = (mels + 2 * (kernel // 2) - kernel) // 2 + 1
        self.output_size = channels * mels

    @staticmethod
    def _block(inputs: int, outputs: int, kernel: tuple[int, int], stride: tuple[int, int]) -> nn.Sequential:
        padding = (kernel[0] // 2, kernel[1] // 2)
        return nn.Sequential(
            nn.Conv2d(inputs, outputs, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(outputs),
            nn.Hardtanh(0.0, 20.0),
        )

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return strided_lengths(lengths, self.stride)

    @staticmethod
    def _mask(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Zero the frames of (B, C, T, mels) past each utterance's length."""
        return x * length_mask(lengths.to(x.device), x.size(2))[:, None, :, None]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self._mask(x.unsqueeze(1), lengths)
        for block, step in zip(self.blocks, (self.stride, 1), strict=True):
            lengths = strided_lengths(lengths, step)
            x = self._mask(block(x), lengths)
        batch, channels, time, mels = x.shape
        return x.permute(0, 2, 1, 3).reshape(batch, time, channels * mels), lengths


class ConvLSTMFrontend(nn.Module):
    """ConvLSTM layers over the mel axis before the recurrent stack, as in the encoder of Zhang,
    Chan and Jaitly (2017): `stride` frames are stacked as the input channels of one encoder step,
    a (stride x n_mels) map, and each ConvLSTM layer (`cells.ConvLSTM`, both directions unless the
    model is unidirectional) keeps the map's mel axis while it carries state over time; the last
    layer's maps are flattened into the stack's input.
    """

    def __init__(
        self, n_mels: int, stride: int, channels: int, kernel: int, layers: int, bidirectional: bool
    ) -> None:
        super().__init__()
        self.stride, self.n_mels = stride, n_mels
        self.stacking = FrameStacking(n_mels, stride)
        sizes = [stride] + [channels * (2 if bidirectional else 1)] * layers
        self.layers = nn.ModuleList([ConvLSTM(size, channels, kernel, bidirectional) for size in sizes[:-1]])
        self.output_size = sizes[-1] * n_mels

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return strided_lengths(lengths, self.stride)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = self.stacking(x, lengths)
        batch, time, _ = x.shape
        x = x.view(batch, time, self.stride, self.n_mels)
        for layer in self.layers:
            x = layer(x, lengths)
        return x.reshape(batch, time, -1), lengths


def make_frontend(
    name: str,
    n_mels: int,
    stride: int,
    conv_channels: int,
    convlstm: dict,
    bidirectional: bool,
) -> FrameStacking | ConvFrontend | ConvLSTMFrontend:
    """The front end `model.frontend` names; `convlstm` holds its channels, kernel and layers."""
    if name == "stack":
        return FrameStacking(n_mels, stride)
    if name == "conv":
        return ConvFrontend(n_mels, stride, conv_channels)
    if name == "convlstm":
        return ConvLSTMFrontend(n_mels, stride, **convlstm, bidirectional=bidirectional)
    raise ValueError(f"model.frontend={name!r} is not one of {', '.join(FRONTENDS)}")

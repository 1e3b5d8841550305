"""The recurrent stack: LSTM, GRU, plain RNN or peephole LSTM, one or two directions.

Every layer maps a padded batch and its lengths to a padded batch, so the kinds are
interchangeable and optional projection / layer normalisation can sit between any two layers.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from asr.cells import PeepholeLSTM, reverse_padded
from asr.choices import Choice
from asr.padding import length_mask

TORCH_RNNS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
RNN_TYPES = (*TORCH_RNNS, "peephole_lstm")


class Recurrence(Choice):
    """How a torch recurrent module meets padding (`model.recurrence`): `auto` is packed sequences on
    a GPU and padded ones on the CPU, each the faster one measured there."""

    AUTO = "auto"
    PACKED = "packed"
    PADDED = "padded"


def cudnn_casts_to_fp16(x: torch.Tensor) -> bool:
    """True under CUDA bf16 autocast: torch's autocast rule for cuDNN RNNs casts them to float16
    whatever the autocast dtype, so a bf16 run would silently train its recurrence in fp16 without
    the gradient scaler fp16 needs. The recurrence then runs in float32 instead (TF32 where enabled)."""
    return (
        x.is_cuda and torch.is_autocast_enabled("cuda") and torch.get_autocast_dtype("cuda") == torch.bfloat16
    )


def onednn_lacks_bf16(x: torch.Tensor) -> bool:
    """True under CPU bf16 autocast on a CPU without oneDNN's bf16 support (AVX2 only, no AVX-512):
    autocast sends the LSTM to oneDNN's bf16 kernel, which then cannot be created there ("could not
    create a primitive descriptor"), so `trainer=cpu trainer.precision=bf16-mixed` would crash at
    the first step. The recurrence then runs in float32 instead."""
    return (
        not x.is_cuda
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
        and not torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


class TorchRecurrence(nn.Module):
    """A torch recurrent module (`nn.LSTM`, `nn.GRU`, `nn.RNN`), padded in and out, with padding
    that never reaches it in either direction. Two ways to run it, equal to float32 rounding
    (tested for every kind):

    - packed sequences (`packed`), by default on a GPU, where cuDNN runs them well, and always when
      exporting;
    - padded sequences (`padded`), by default on the CPU: layer by layer, the forward direction over the batch
      as it is (padding only follows the real frames) and the backward direction over each
      utterance reversed within its own length (`reverse_padded`, as the peephole LSTM does).
      torch then uses its oneDNN kernel; on packed input its CPU backward zero-fills a gradient
      buffer of the whole batch at every time step, a cost that grows with the square of the
      batch's length (1.6x slower on the demo's batches, 2.4x with their silence padding:
      benchmarks/recurrence_speed.py).

    `recurrence` (`model.recurrence`) forces one of them. The parameters are those of the one
    multi-layer module either way, so checkpoints do not depend on where or how a model trained.
    `lengths` on the CPU, as packing needs them.
    """

    def __init__(
        self,
        rnn_type: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        recurrence: Recurrence = Recurrence.AUTO,
    ) -> None:
        super().__init__()
        self.recurrence = recurrence
        self.rnn = TORCH_RNNS[rnn_type](
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        sizes = [input_size] + [hidden_size * (2 if bidirectional else 1)] * (num_layers - 1)
        # One unidirectional single-layer module per layer, without weights of its own (meta
        # device): `padded` runs it with the stack's weights of that layer and direction.
        self._steps = [
            TORCH_RNNS[rnn_type](size, hidden_size, batch_first=True, device="meta") for size in sizes
        ]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        run = self.packed if self.runs_packed(x) else self.padded
        if cudnn_casts_to_fp16(x) or onednn_lacks_bf16(x):
            with torch.autocast(x.device.type, enabled=False):
                return run(x.float(), lengths)
        return run(x, lengths)

    def runs_packed(self, x: torch.Tensor) -> bool:
        # Export traces the packed form, which ONNX and TorchScript represent as one RNN node
        # (the per-layer weight swap of `padded` cannot be traced).
        if torch.jit.is_tracing() or self.recurrence is Recurrence.PACKED:
            return True
        return self.recurrence is Recurrence.AUTO and x.is_cuda

    def packed(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0]

    def padded(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(lengths.to(x.device), x.size(1)).unsqueeze(-1)
        suffixes = ["", "_reverse"] if self.rnn.bidirectional else [""]
        for layer, step in enumerate(self._steps):
            outputs = []
            for suffix in suffixes:
                weights = {
                    f"{name}_l0": getattr(self.rnn, f"{name}_l{layer}{suffix}")
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                }
                if suffix:
                    out = reverse_padded(
                        functional_call(step, weights, (reverse_padded(x, lengths),))[0], lengths
                    )
                else:
                    out = functional_call(step, weights, (x,))[0]
                outputs.append(out)
            x = torch.cat(outputs, dim=-1) * mask
            if layer < len(self._steps) - 1:
                x = nn.functional.dropout(x, self.rnn.dropout, self.training)
        return x


class RecurrentStack(nn.Module):
    """`num_layers` recurrent layers with dropout, and optionally projection / LayerNorm, between them.

    Without projection or layer norm a torch kind runs as one multi-layer module, which lets
    cuDNN overlap the layers; otherwise, and always for the peephole LSTM, as one module per layer.
    """

    def __init__(
        self,
        input_size: int,
        rnn_type: str,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        projection: int | None = None,
        layer_norm: bool = False,
        recurrence: str = Recurrence.AUTO.value,
    ) -> None:
        super().__init__()
        if rnn_type not in RNN_TYPES:
            raise ValueError(f"model.rnn_type={rnn_type!r} is not one of {', '.join(RNN_TYPES)}")
        mode = Recurrence.parse(recurrence, "model.recurrence")
        self.output_size = hidden_size * (2 if bidirectional else 1)
        self.fused = rnn_type in TORCH_RNNS and projection is None and not layer_norm
        if self.fused:
            self.layers = nn.ModuleList(
                [TorchRecurrence(rnn_type, input_size, hidden_size, num_layers, bidirectional, dropout, mode)]
            )
            self.between = nn.ModuleList()
            return
        layers, between = [], []
        size = input_size
        for index in range(num_layers):
            if rnn_type == "peephole_lstm":
                layers.append(PeepholeLSTM(size, hidden_size, bidirectional))
            else:
                layers.append(TorchRecurrence(rnn_type, size, hidden_size, 1, bidirectional, 0.0, mode))
            if index < num_layers - 1:
                size = projection or self.output_size
                between.append(
                    nn.Sequential(
                        *([nn.Linear(self.output_size, projection)] if projection else []),
                        *([nn.LayerNorm(size)] if layer_norm else []),
                        nn.Dropout(dropout),
                    )
                )
        self.layers, self.between = nn.ModuleList(layers), nn.ModuleList(between)

    def freeze_lower(self, count: int) -> None:
        """Hold the lowest `count` layers (each with the projection or norm after it) at their
        weights: fine-tuning on a few speakers then adapts only the upper layers, and what the
        lower ones learnt from many voices is not worn away."""
        if self.fused:
            for name, param in self.layers[0].rnn.named_parameters():
                if int(re.fullmatch(r"\w+_l(\d+)(_reverse)?", name).group(1)) < count:
                    param.requires_grad_(False)
            return
        for module in [*self.layers[:count], *self.between[:count]]:
            module.requires_grad_(False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.cpu()  # packing needs them on the host: one device sync, not one per layer
        for index, layer in enumerate(self.layers):
            x = layer(x, lengths)
            if index < len(self.between):
                x = self.between[index](x)
        return x

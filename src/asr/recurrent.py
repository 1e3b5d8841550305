"""The recurrent stack: LSTM, GRU, plain RNN or peephole LSTM, one or two directions.

Every layer maps a padded batch and its lengths to a padded batch, so the kinds are
interchangeable and optional projection / layer normalisation can sit between any two layers.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from asr.cells import PeepholeLSTM

TORCH_RNNS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
RNN_TYPES = (*TORCH_RNNS, "peephole_lstm")


class PackedRecurrence(nn.Module):
    """A torch recurrent module (cuDNN on GPU) run on packed sequences, padded in and out;
    `lengths` on the CPU, as packing needs them."""

    def __init__(
        self,
        rnn_type: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.rnn = TORCH_RNNS[rnn_type](
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0]


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
    ) -> None:
        super().__init__()
        if rnn_type not in RNN_TYPES:
            raise ValueError(f"model.rnn_type={rnn_type!r} is not one of {', '.join(RNN_TYPES)}")
        self.output_size = hidden_size * (2 if bidirectional else 1)
        fused = rnn_type in TORCH_RNNS and projection is None and not layer_norm
        if fused:
            self.layers = nn.ModuleList(
                [PackedRecurrence(rnn_type, input_size, hidden_size, num_layers, bidirectional, dropout)]
            )
            self.between = nn.ModuleList()
            return
        layers, between = [], []
        size = input_size
        for index in range(num_layers):
            if rnn_type == "peephole_lstm":
                layers.append(PeepholeLSTM(size, hidden_size, bidirectional))
            else:
                layers.append(PackedRecurrence(rnn_type, size, hidden_size, 1, bidirectional, 0.0))
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

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.cpu()  # packing needs them on the host: one device sync, not one per layer
        for index, layer in enumerate(self.layers):
            x = layer(x, lengths)
            if index < len(self.between):
                x = self.between[index](x)
        return x

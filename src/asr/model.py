"""The acoustic model: front end and stacked recurrent layers (the encoder), linear CTC head."""

from __future__ import annotations

import torch
from torch import nn

from asr.frontends import make_frontend
from asr.recurrent import RecurrentStack


class AcousticModel(nn.Module):
    """Features (B, T, n_mels) to CTC logits (B, T', vocab) and their lengths.

    Every recurrent layer sees each utterance only up to its own length: the backward direction
    starts at the utterance's last frame and never reads padding, whatever else is in the batch.
    """

    def __init__(
        self,
        n_mels: int,
        vocab_size: int,
        rnn_type: str = "lstm",
        bidirectional: bool = True,
        hidden_size: int = 256,
        num_layers: int = 3,
        dropout: float = 0.1,
        projection: int | None = None,
        layer_norm: bool = False,
        frontend: str = "stack",
        stride: int = 3,
        conv_channels: int = 32,
        convlstm_channels: int = 8,
        convlstm_kernel: int = 5,
        convlstm_layers: int = 1,
        recurrence: str = "auto",
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        convlstm = {"channels": convlstm_channels, "kernel": convlstm_kernel, "layers": convlstm_layers}
        self.frontend = make_frontend(frontend, n_mels, stride, conv_channels, convlstm, bidirectional)
        self.rnn = RecurrentStack(
            self.frontend.output_size,
            rnn_type,
            hidden_size,
            num_layers,
            bidirectional,
            dropout,
            projection,
            layer_norm,
            recurrence,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.rnn.output_size, vocab_size)

    def freeze_lower(self, count: int) -> None:
        """Fine-tuning (`freeze_layers`): hold the front end and the lowest `count` recurrent
        layers at their weights; the layers above and the CTC head still train."""
        if not 0 <= count <= self.num_layers:
            raise ValueError(f"freeze_layers={count}: the model has {self.num_layers} recurrent layers")
        if count:
            self.frontend.requires_grad_(False)
            self.rnn.freeze_lower(count)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.frontend.output_lengths(lengths)

    @property
    def encoder_size(self) -> int:
        """Size of each encoder state: what the CTC head and an attention decoder read."""
        return self.rnn.output_size

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (B, T', encoder_size) and their lengths (past a length: not to be read)."""
        x, lengths = self.frontend(feats, lengths)
        return self.rnn(x, lengths), lengths

    def ctc_logits(self, states: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(states))

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states, lengths = self.encode(feats, lengths)
        return self.ctc_logits(states), lengths

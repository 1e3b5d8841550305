"""The attention-based LSTM decoder of a joint CTC/attention model (`model=ctc_attention`).

Listen, Attend and Spell's decoder over the encoder's states, with Chorowski et al.'s (2015)
location-aware attention: at output step i the decoder state s_{i-1} asks where to listen,

    f_i   = F * a_{i-1}                                    (convolved previous weights: where it was)
    e_i,j = w · tanh(W s_{i-1} + V h_j + U f_i,j + b)      (score of encoder frame j)
    a_i   = softmax_j(e_i,j)     over the utterance's own frames only
    c_i   = Σ_j a_i,j h_j                                  (the context)
    s_i   = LSTM([embed(y_{i-1}); c_i], s_{i-1})
    p(y_i | y_<i, x) = softmax(W_o [s_i; c_i])

where the LSTM is the same cell as `cells.ReferenceLSTMCell` (torch's `LSTMCell` runs it). The
location term is what keeps the attention moving forward monotonically through a long utterance.

Its vocabulary is the tokenizer's, with the CTC blank's index standing for both start and end of
sentence (the decoder never emits a blank, and CTC never emits an end): one output layer serves
both heads' token ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from asr.padding import length_mask

EOS = 0  # the tokenizer's blank id: start and end of sentence for the attention decoder


@dataclass(frozen=True)
class AttentionConfig:
    """`model.attention` (conf/model/ctc_attention.yaml holds the values): the decoder's sizes, and
    how training weighs and smooths its loss."""

    embedding: int
    hidden_size: int
    attention_size: int
    location_channels: int
    location_kernel: int
    ctc_weight: float  # λ in λ·CTC + (1 - λ)·attention
    label_smoothing: float

    def __post_init__(self) -> None:
        if self.location_kernel % 2 == 0:
            raise ValueError(f"model.attention.location_kernel must be odd, not {self.location_kernel}")
        if not 0.0 <= self.ctc_weight < 1.0:
            raise ValueError(
                f"model.attention.ctc_weight (λ) must be in [0, 1), not {self.ctc_weight}: at 1 the "
                "attention decoder learns nothing (use model=rnn for a CTC-only model)"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"model.attention.label_smoothing must be in [0, 1), not {self.label_smoothing}")


class DecoderState(NamedTuple):
    """Everything one decoding step reads, for a batch of utterances, or of hypotheses of one
    utterance (whose encoder, keys and mask then have one row)."""

    hidden: torch.Tensor  # (B, H)
    cell: torch.Tensor  # (B, H)
    weights: torch.Tensor  # (B, T) the previous step's attention
    encoder: torch.Tensor  # (B, T, D)
    keys: torch.Tensor  # (B, T, A) V h_j + b, computed once per utterance
    mask: torch.Tensor  # (B, T) True on real frames

    def select(self, rows: torch.Tensor) -> DecoderState:
        """The states of hypotheses `rows` of one utterance (beam search's survivors, repeats
        allowed): the utterance's encoder, keys and mask stay one row, broadcast to them all."""
        return self._replace(
            hidden=self.hidden.index_select(0, rows),
            cell=self.cell.index_select(0, rows),
            weights=self.weights.index_select(0, rows),
        )


class LocationAttention(nn.Module):
    """e_i,j = w · tanh(W s + V h_j + U (F * a_{i-1})_j + b), softmax over real frames."""

    def __init__(self, query_size: int, key_size: int, size: int, channels: int, kernel: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, size, bias=False)
        self.key = nn.Linear(key_size, size)
        self.conv = nn.Conv1d(1, channels, kernel, padding=kernel // 2, bias=False)
        self.location = nn.Linear(channels, size, bias=False)
        self.score = nn.Linear(size, 1, bias=False)

    def forward(self, query: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, torch.Tensor]:
        """The context (B, D) and the weights (B, T) for decoder states `query` (B, H)."""
        where = self.location(self.conv(state.weights[:, None, :]).transpose(1, 2))
        energy = self.score(torch.tanh(state.keys + self.query(query)[:, None, :] + where)).squeeze(-1)
        weights = energy.float().masked_fill(~state.mask, float("-inf")).softmax(dim=-1)
        context = torch.matmul(weights.to(state.encoder.dtype)[:, None, :], state.encoder).squeeze(1)
        return context, weights


class AttentionDecoder(nn.Module):
    """Encoder states (B, T, D) to per-character log-probabilities, one output step at a time."""

    def __init__(self, config: AttentionConfig, encoder_size: int, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(vocab_size, config.embedding)
        self.attend = LocationAttention(
            config.hidden_size,
            encoder_size,
            config.attention_size,
            config.location_channels,
            config.location_kernel,
        )
        self.lstm = nn.LSTMCell(config.embedding + encoder_size, config.hidden_size)
        self.out = nn.Linear(config.hidden_size + encoder_size, vocab_size)

    def start(self, encoder: torch.Tensor, lengths: torch.Tensor) -> DecoderState:
        """The state before the first output: zero LSTM state, attention spread evenly over each
        utterance's own frames (the location term's first "previous" weights)."""
        mask = length_mask(lengths, encoder.size(1))
        weights = mask.float() / lengths.clamp_min(1)[:, None].float()
        hidden = encoder.new_zeros(encoder.size(0), self.config.hidden_size)
        return DecoderState(hidden, hidden, weights, encoder, self.attend.key(encoder), mask)

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Logits (B, vocab) of the token after `tokens` (B,), and the state that follows."""
        context, weights = self.attend(state.hidden, state)
        inputs = torch.cat([self.embed(tokens), context.to(state.hidden.dtype)], dim=-1)
        hidden, cell = self.lstm(inputs, (state.hidden, state.cell))
        logits = self.out(torch.cat([hidden, context.to(hidden.dtype)], dim=-1))
        return logits, state._replace(hidden=hidden, cell=cell, weights=weights)

    def forward(
        self,
        encoder: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: logits (B, L + 1, vocab) for y_1 .. y_L, end, given the true history, and
        the attention weights (B, L + 1, T)."""
        inputs = torch.cat([targets.new_full((targets.size(0), 1), EOS), targets], dim=1)
        state = self.start(encoder, lengths)
        logits, weights = [], []
        for i in range(int(target_lengths.max()) + 1):
            step_logits, state = self.step(inputs[:, i], state)
            logits.append(step_logits)
            weights.append(state.weights)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)

    def losses(
        self,
        encoder: torch.Tensor,
        lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """Per-utterance label-smoothed cross-entropy of y_1 .. y_L and the end, over L + 1 (a mean
        per output, as the CTC loss is taken per target token)."""
        logits, _ = self(encoder, lengths, targets, target_lengths)
        steps = logits.size(1)
        wanted = torch.cat([targets, targets.new_zeros(targets.size(0), 1)], dim=1)[:, :steps]
        wanted = wanted.masked_fill(~length_mask(target_lengths + 1, steps), -100)
        wanted = wanted.scatter(1, target_lengths[:, None], EOS)
        per_token = nn.functional.cross_entropy(
            logits.float().transpose(1, 2),
            wanted,
            ignore_index=-100,
            label_smoothing=self.config.label_smoothing,
            reduction="none",
        )
        return per_token.sum(dim=1) / (target_lengths + 1)

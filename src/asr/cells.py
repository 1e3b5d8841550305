"""Recurrent cells written from their gate equations.

`ReferenceLSTMCell` is the textbook LSTM, one weight matrix per gate acting on [h_{t-1}, x_t]; it
exists to be read and to be checked against `torch.nn.LSTM`, not to be fast. `PeepholeLSTM` is a
trainable layer whose gates also see the cell state; torch has no kernel for it, so it computes
the input projections of all time steps in one matrix product and loops only over the recurrence.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from asr.padding import length_mask

GATES = ("i", "f", "c", "o")  # the row-block order of torch.nn.LSTM's weights: i, f, g (= Ĉ), o


class ReferenceLSTMCell(nn.Module):
    """One LSTM step exactly as the equations read.

    f_t = sigmoid(W_f[h_{t-1}, x_t] + b_f)
    i_t = sigmoid(W_i[h_{t-1}, x_t] + b_i)
    Ĉ_t = tanh(W_c[h_{t-1}, x_t] + b_c)
    C_t = f_t * C_{t-1} + i_t * Ĉ_t
    o_t = sigmoid(W_o[h_{t-1}, x_t] + b_o)
    h_t = o_t * tanh(C_t)
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.W = nn.ModuleDict({g: nn.Linear(hidden_size + input_size, hidden_size) for g in GATES})

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h_prev, c_prev = state
        hx = torch.cat([h_prev, x], dim=-1)
        f = torch.sigmoid(self.W["f"](hx))
        i = torch.sigmoid(self.W["i"](hx))
        c_hat = torch.tanh(self.W["c"](hx))
        c = f * c_prev + i * c_hat
        o = torch.sigmoid(self.W["o"](hx))
        return o * torch.tanh(c), c

    def unroll(self, x: torch.Tensor) -> torch.Tensor:
        """Run over (B, T, input) from a zero state; (B, T, hidden) hidden states."""
        h = c = x.new_zeros(x.size(0), self.hidden_size)
        out = []
        for t in range(x.size(1)):
            h, c = self(x[:, t], (h, c))
            out.append(h)
        return torch.stack(out, dim=1)

    @classmethod
    def from_torch(cls, lstm: nn.LSTM, suffix: str = "_l0") -> ReferenceLSTMCell:
        """Copy one layer/direction of an `nn.LSTM` (suffix "_l0", "_l1_reverse", ...) into gate form."""
        w_ih, w_hh = getattr(lstm, f"weight_ih{suffix}"), getattr(lstm, f"weight_hh{suffix}")
        bias = getattr(lstm, f"bias_ih{suffix}") + getattr(lstm, f"bias_hh{suffix}")
        cell = cls(w_ih.size(1), lstm.hidden_size)
        rows = lstm.hidden_size
        with torch.no_grad():
            for k, gate in enumerate(GATES):
                block = slice(k * rows, (k + 1) * rows)
                cell.W[gate].weight.copy_(torch.cat([w_hh[block], w_ih[block]], dim=1))
                cell.W[gate].bias.copy_(bias[block])
        return cell


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of (B, T, ...) within its own length; padding stays at the end.

    A backward recurrence run over the result starts at each utterance's last real frame, which is
    what packed sequences give `nn.LSTM`; applying it twice restores the input.
    """
    lengths = lengths.to(x.device)
    time = torch.arange(x.size(1), device=x.device).expand(x.size(0), -1)
    index = torch.where(length_mask(lengths, x.size(1)), lengths[:, None] - 1 - time, time)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


def peephole_step(
    x_t: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_hh_t: torch.Tensor,
    w_ci: torch.Tensor,
    w_cf: torch.Tensor,
    w_co: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One time step; x_t (B, 4H) already holds W_x x_t + b, w_hh_t is W_h transposed."""
    i, f, g, o = (x_t + torch.mm(h, w_hh_t)).chunk(4, dim=1)
    i = torch.sigmoid(i + w_ci * c)
    f = torch.sigmoid(f + w_cf * c)
    c = f * c + i * torch.tanh(g)
    h = torch.sigmoid(o + w_co * c) * torch.tanh(c)
    return h, c


def peephole_recurrence(
    x_proj: torch.Tensor, w_hh: torch.Tensor, w_peep: torch.Tensor, h: torch.Tensor, c: torch.Tensor
) -> torch.Tensor:
    """The time loop alone over x_proj (T, B, 4H); (T, B, H) hidden states.

    Plain eager code on purpose: on CPU, neither TorchScript over this loop nor torch.compile of
    the step made it faster (benchmarks/peephole_speed.py), and both cost start-up time.
    """
    w_ci, w_cf, w_co = w_peep.unbind(0)
    w_hh_t = w_hh.t()
    out = []
    for x_t in x_proj.unbind(0):
        h, c = peephole_step(x_t, h, c, w_hh_t, w_ci, w_cf, w_co)
        out.append(h)
    return torch.stack(out)


class PeepholeLSTMDirection(nn.Module):
    """One direction of a peephole LSTM layer (Gers & Schmidhuber, 2000; diagonal peepholes).

    i_t = sigmoid(W_i[h_{t-1}, x_t] + w_ci * C_{t-1} + b_i)
    f_t = sigmoid(W_f[h_{t-1}, x_t] + w_cf * C_{t-1} + b_f)
    C_t = f_t * C_{t-1} + i_t * tanh(W_c[h_{t-1}, x_t] + b_c)
    o_t = sigmoid(W_o[h_{t-1}, x_t] + w_co * C_t + b_o)
    h_t = o_t * tanh(C_t)
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self.weight_peep = nn.Parameter(torch.empty(3, hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # nn.LSTM's initialisation, so the two start alike
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, input) to (B, T, hidden), from a zero state."""
        x_proj = torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight_ih.t())
        x_proj = x_proj.view(x.size(0), x.size(1), -1).transpose(0, 1)
        h = c = x.new_zeros(x.size(0), self.hidden_size)
        return peephole_recurrence(x_proj, self.weight_hh, self.weight_peep, h, c).transpose(0, 1)


class PeepholeLSTM(nn.Module):
    """A peephole LSTM layer over padded batches, one or two directions.

    Takes (B, T, input) and lengths like the packed torch layers do: the backward direction starts
    at each sequence's own last frame, and outputs past a sequence's length are zero.
    """

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool = True) -> None:
        super().__init__()
        self.forward_dir = PeepholeLSTMDirection(input_size, hidden_size)
        self.backward_dir = PeepholeLSTMDirection(input_size, hidden_size) if bidirectional else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(x.device)
        outputs = [self.forward_dir(x)]
        if self.backward_dir is not None:
            outputs.append(reverse_padded(self.backward_dir(reverse_padded(x, lengths)), lengths))
        return torch.cat(outputs, dim=-1) * length_mask(lengths, x.size(1)).unsqueeze(-1)


class ConvLSTMDirection(nn.Module):
    """One direction of a convolutional LSTM (Shi et al., 2015) over the frequency axis: the
    input X_t, hidden state H_t and cell C_t at each time step are (channels x mel bins) maps, and
    the LSTM's matrix products become 1-D convolutions over the bins (*, `kernel` bins wide):

    i_t = sigmoid(W_xi * X_t + W_hi * H_{t-1} + b_i)
    f_t = sigmoid(W_xf * X_t + W_hf * H_{t-1} + b_f)
    C_t = f_t o C_{t-1} + i_t o tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)
    o_t = sigmoid(W_xo * X_t + W_ho * H_{t-1} + b_o)
    H_t = o_t o tanh(C_t)

    Shi et al.'s peephole terms are left out, as in torch's LSTM: with a 1-bin kernel over a single
    bin this is `nn.LSTM` exactly (tested). The input convolution runs over all time steps at
    once; only the hidden-state convolution and the gates are in the loop.
    """

    def __init__(self, in_channels: int, channels: int, kernel: int) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"model.convlstm_kernel must be odd (centred on its bin), not {kernel}")
        self.channels = channels
        self.conv_x = nn.Conv1d(in_channels, 4 * channels, kernel, padding=kernel // 2)
        self.conv_h = nn.Conv1d(channels, 4 * channels, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_channels, bins) to (B, T, channels, bins), from a zero state."""
        batch, time, in_channels, bins = x.shape
        x_proj = self.conv_x(x.reshape(batch * time, in_channels, bins)).view(batch, time, -1, bins)
        h = c = x.new_zeros(batch, self.channels, bins)
        out = []
        for x_t in x_proj.unbind(1):
            i, f, g, o = (x_t + self.conv_h(h)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, dim=1)


class ConvLSTM(nn.Module):
    """A ConvLSTM layer over padded batches of (B, T, channels, bins) maps, one or two directions,
    padding-safe like `PeepholeLSTM`: the backward direction starts at each sequence's last frame,
    and outputs past a sequence's length are zero. Directions are concatenated along channels."""

    def __init__(self, in_channels: int, channels: int, kernel: int, bidirectional: bool = True) -> None:
        super().__init__()
        self.forward_dir = ConvLSTMDirection(in_channels, channels, kernel)
        self.backward_dir = ConvLSTMDirection(in_channels, channels, kernel) if bidirectional else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(x.device)
        outputs = [self.forward_dir(x)]
        if self.backward_dir is not None:
            outputs.append(reverse_padded(self.backward_dir(reverse_padded(x, lengths)), lengths))
        return torch.cat(outputs, dim=2) * length_mask(lengths, x.size(1))[:, :, None, None]

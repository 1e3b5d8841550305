"""The gate equations, checked: the reference cell against torch.nn.LSTM, the peephole layer by gradcheck."""

import pytest
import torch
from torch import nn

from asr.cells import (
    GATES,
    ConvLSTM,
    PeepholeLSTM,
    PeepholeLSTMDirection,
    ReferenceLSTMCell,
    reverse_padded,
)


def _torch_lstm_and_reference(suffix: str, bidirectional: bool) -> tuple[nn.LSTM, ReferenceLSTMCell]:
    torch.manual_seed(3)
    lstm = nn.LSTM(5, 7, batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():  # random weights of several scales, not only the default initialisation
        for weight in lstm.parameters():
            weight.normal_(0, 0.6)
    return lstm, ReferenceLSTMCell.from_torch(lstm, suffix)


@pytest.mark.parametrize("suffix", ["_l0", "_l0_reverse"])
def test_reference_cell_computes_what_torch_lstm_computes_outputs_and_gradients(suffix: str) -> None:
    lstm, cell = _torch_lstm_and_reference(suffix, bidirectional=True)
    x = torch.randn(3, 11, 5)
    x_torch, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, _ = lstm(x_torch)
    direction = slice(7, 14) if suffix.endswith("reverse") else slice(0, 7)
    out = out[..., direction]
    ref_in = x_ref.flip(1) if suffix.endswith("reverse") else x_ref
    ref = cell.unroll(ref_in)
    ref = ref.flip(1) if suffix.endswith("reverse") else ref
    torch.testing.assert_close(ref, out, rtol=1e-5, atol=1e-6)

    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(x_ref.grad, x_torch.grad, rtol=1e-5, atol=1e-6)
    w_ih, w_hh = getattr(lstm, f"weight_ih{suffix}"), getattr(lstm, f"weight_hh{suffix}")
    for k, gate in enumerate(GATES):
        rows = slice(7 * k, 7 * (k + 1))
        grad = cell.W[gate].weight.grad
        torch.testing.assert_close(grad[:, :7], w_hh.grad[rows], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(grad[:, 7:], w_ih.grad[rows], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(cell.W[gate].bias.grad, getattr(lstm, f"bias_ih{suffix}").grad[rows])


def test_reference_cell_gates_are_where_the_equations_put_them() -> None:
    """A forget gate shut (b_f = -inf) and an input gate open make C_t the candidate alone."""
    cell = ReferenceLSTMCell(2, 3)
    with torch.no_grad():
        cell.W["f"].bias.fill_(-1e4)
        cell.W["i"].bias.fill_(1e4)
        cell.W["o"].bias.fill_(1e4)
    x, h, c = torch.randn(4, 2), torch.randn(4, 3), torch.randn(4, 3) * 5
    h_new, c_new = cell(x, (h, c))
    candidate = torch.tanh(cell.W["c"](torch.cat([h, x], dim=1)))
    torch.testing.assert_close(c_new, candidate)
    torch.testing.assert_close(h_new, torch.tanh(candidate))


def test_peephole_layer_without_peepholes_is_torch_lstm() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 6, batch_first=True)
    layer = PeepholeLSTMDirection(5, 6)
    with torch.no_grad():
        layer.weight_ih.copy_(lstm.weight_ih_l0)
        layer.weight_hh.copy_(lstm.weight_hh_l0)
        layer.bias.copy_(lstm.bias_ih_l0 + lstm.bias_hh_l0)
        layer.weight_peep.zero_()
    x = torch.randn(2, 9, 5)
    torch.testing.assert_close(layer(x), lstm(x)[0])


def test_peephole_layer_follows_its_equations_step_by_step() -> None:
    """Each gate written out: i and f peek at C_{t-1}, o at C_t."""
    torch.manual_seed(0)
    layer = PeepholeLSTMDirection(3, 4)
    with torch.no_grad():
        layer.weight_peep.normal_(0, 2.0)  # large, so a peephole in the wrong place shows
    x = torch.randn(2, 6, 3)
    W = dict(zip(GATES, layer.weight_ih.chunk(4), strict=True))
    U = dict(zip(GATES, layer.weight_hh.chunk(4), strict=True))
    b = dict(zip(GATES, layer.bias.chunk(4), strict=True))
    w_ci, w_cf, w_co = layer.weight_peep
    h = c = torch.zeros(2, 4)
    expected = []
    for t in range(6):
        pre = {g: x[:, t] @ W[g].T + h @ U[g].T + b[g] for g in GATES}
        i = torch.sigmoid(pre["i"] + w_ci * c)
        f = torch.sigmoid(pre["f"] + w_cf * c)
        c = f * c + i * torch.tanh(pre["c"])
        o = torch.sigmoid(pre["o"] + w_co * c)
        h = o * torch.tanh(c)
        expected.append(h)
    torch.testing.assert_close(layer(x), torch.stack(expected, dim=1))


def test_peephole_weights_change_the_output() -> None:
    torch.manual_seed(0)
    layer = PeepholeLSTMDirection(5, 6)
    x = torch.randn(2, 9, 5)
    with_peepholes = layer(x)
    with torch.no_grad():
        layer.weight_peep.zero_()
    assert not torch.allclose(layer(x), with_peepholes, atol=1e-3)


def test_peephole_layer_gradcheck_float64() -> None:
    torch.manual_seed(0)
    layer = PeepholeLSTM(3, 4, bidirectional=True).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 3])
    params = tuple(layer.parameters())

    def run(x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        replaced = dict(zip((name for name, _ in layer.named_parameters()), weights, strict=True))
        return torch.func.functional_call(layer, replaced, (x, lengths))

    inputs = (x, *(p.detach().clone().requires_grad_() for p in params))
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-5)


def test_peephole_backward_direction_starts_at_each_sequences_last_frame() -> None:
    torch.manual_seed(0)
    layer = PeepholeLSTM(3, 4, bidirectional=True)
    short = torch.randn(1, 4, 3)
    alone = layer(short, torch.tensor([4]))
    padded = torch.cat([short, torch.randn(1, 3, 3) * 50], dim=1)
    batch = torch.cat([padded, torch.randn(1, 7, 3)])
    out = layer(batch, torch.tensor([4, 7]))
    torch.testing.assert_close(out[0, :4], alone[0])
    assert out[0, 4:].abs().max() == 0


def test_reverse_padded_reverses_within_lengths_and_is_its_own_inverse() -> None:
    x = torch.arange(8.0).view(2, 4, 1)
    lengths = torch.tensor([4, 2])
    flipped = reverse_padded(x, lengths)
    assert flipped[..., 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    torch.testing.assert_close(reverse_padded(flipped, lengths), x)


def test_convlstm_with_a_one_bin_kernel_over_one_bin_is_torch_lstm_both_directions() -> None:
    """Weights copied from a bidirectional nn.LSTM run over packed sequences; padding filled with
    large noise: outputs and input gradients agree, so the gates are the LSTM's and padding never
    reaches the backward direction."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    lstm = nn.LSTM(5, 6, batch_first=True, bidirectional=True)
    layer = ConvLSTM(5, 6, kernel=1, bidirectional=True)
    with torch.no_grad():
        for direction, suffix in ((layer.forward_dir, "_l0"), (layer.backward_dir, "_l0_reverse")):
            direction.conv_x.weight.copy_(getattr(lstm, f"weight_ih{suffix}")[:, :, None])
            direction.conv_x.bias.copy_(getattr(lstm, f"bias_ih{suffix}") + getattr(lstm, f"bias_hh{suffix}"))
            direction.conv_h.weight.copy_(getattr(lstm, f"weight_hh{suffix}")[:, :, None])
    lengths = torch.tensor([9, 4, 7])
    x = torch.randn(3, 9, 5)
    for row, n in enumerate(lengths.tolist()):
        x[row, n:] = 1000 * torch.randn(9 - n, 5)
    ours_in, torch_in = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = layer(ours_in[:, :, :, None], lengths)[..., 0]  # (B, T, 5 channels, 1 bin)
    packed = pack_padded_sequence(torch_in, lengths, batch_first=True, enforce_sorted=False)
    theirs = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=9)[0]
    torch.testing.assert_close(ours, theirs)
    weights = torch.linspace(-1, 1, 12)
    (ours * weights).sum().backward()
    (theirs * weights).sum().backward()
    torch.testing.assert_close(ours_in.grad, torch_in.grad)


def test_convlstm_gradcheck_float64() -> None:
    torch.manual_seed(0)
    layer = ConvLSTM(2, 2, kernel=3, bidirectional=True).double()
    x = torch.randn(2, 4, 2, 5, dtype=torch.float64, requires_grad=True)  # (B, T, channels, bins)
    lengths = torch.tensor([4, 2])
    names = [name for name, _ in layer.named_parameters()]

    def run(x: torch.Tensor, *weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, dict(zip(names, weights, strict=True)), (x, lengths))

    inputs = (x, *(p.detach().clone().requires_grad_() for p in layer.parameters()))
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-5)


def test_convlstm_convolves_over_bins_and_refuses_an_even_kernel() -> None:
    """A bin's output depends on its neighbours within kernel // 2 bins and on no others."""
    torch.manual_seed(0)
    layer = ConvLSTM(1, 2, kernel=3, bidirectional=False)
    x = torch.randn(1, 3, 1, 9)
    nudged = x.clone()
    nudged[0, 0, 0, 4] += 1.0  # bin 4 at the first step: by step 3 it can reach bins 1-7
    changed = (layer(nudged, torch.tensor([3])) - layer(x, torch.tensor([3]))).abs().sum(dim=2)[0]
    assert (changed[0, 3:6] > 0).all() and changed[0, [0, 1, 2, 6, 7, 8]].abs().max() == 0
    assert (changed[2, 1:8] > 0).all() and changed[2, [0, 8]].abs().max() == 0
    with pytest.raises(ValueError, match="convlstm_kernel must be odd"):
        ConvLSTM(1, 2, kernel=4)

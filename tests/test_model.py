"""The acoustic model family: every front end and recurrent kind, one or two directions."""

import pytest
import torch

from asr.model import AcousticModel
from asr.recurrent import RNN_TYPES

VARIANTS = [
    *({"rnn_type": kind} for kind in RNN_TYPES),
    {"rnn_type": "lstm", "bidirectional": False},
    {"rnn_type": "peephole_lstm", "bidirectional": False},
    {"rnn_type": "gru", "projection": 6, "layer_norm": True},
    {"rnn_type": "lstm", "frontend": "conv", "conv_channels": 4},
    {"rnn_type": "lstm", "frontend": "convlstm", "convlstm_channels": 2},
    {
        "rnn_type": "gru",
        "bidirectional": False,
        "frontend": "convlstm",
        "convlstm_channels": 2,
        "convlstm_layers": 2,
    },
]


def _model(**variant) -> AcousticModel:
    torch.manual_seed(0)
    return AcousticModel(n_mels=8, vocab_size=5, hidden_size=16, num_layers=2, stride=2, **variant).eval()


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_output_lengths_match_the_logits(variant: dict) -> None:
    model = AcousticModel(n_mels=8, vocab_size=5, hidden_size=16, num_layers=2, stride=3, **variant)
    logits, lengths = model(torch.randn(2, 10, 8), torch.tensor([10, 7]))
    assert logits.shape == (2, 4, 5)
    assert lengths.tolist() == [4, 3]
    assert lengths.tolist() == model.output_lengths(torch.tensor([10, 7])).tolist()


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_padding_does_not_leak_into_either_direction(variant: dict) -> None:
    model = _model(**variant)
    x = torch.randn(1, 12, 8)
    alone, _ = model(x, torch.tensor([12]))
    noisy_pad = torch.cat([x, torch.randn(1, 8, 8) * 100], dim=1)
    out, lengths = model(torch.cat([noisy_pad, torch.randn(1, 20, 8)]), torch.tensor([12, 20]))
    assert lengths.tolist() == [6, 10]
    torch.testing.assert_close(out[0, :6], alone[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_unidirectional_outputs_do_not_see_the_future(variant: dict) -> None:
    """What makes a model streamable, and what a bidirectional one gives up streaming for."""
    model = _model(**variant)
    x = torch.randn(1, 12, 8)
    changed = x.clone()
    changed[:, 10:] = torch.randn(1, 2, 8)
    out, _ = model(x, torch.tensor([12]))
    out_changed, _ = model(changed, torch.tensor([12]))
    past = torch.allclose(out[0, :3], out_changed[0, :3], atol=1e-6)
    assert past == (not variant.get("bidirectional", True) and variant.get("frontend") != "conv")


def test_gru_and_plain_rnn_have_three_and_one_quarters_of_the_lstm_recurrent_weights() -> None:
    def recurrent_params(kind: str) -> int:
        return sum(p.numel() for p in _model(rnn_type=kind).rnn.parameters())

    lstm = recurrent_params("lstm")
    assert recurrent_params("gru") * 4 == lstm * 3
    assert recurrent_params("rnn") * 4 == lstm
    peephole_extra = 2 * 2 * 3 * 16  # 2 layers x 2 directions x (w_ci, w_cf, w_co) x hidden
    single_bias = 2 * 2 * 4 * 16  # torch keeps two bias vectors per gate; one is redundant
    assert recurrent_params("peephole_lstm") == lstm + peephole_extra - single_bias


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("rnn_type", "transformer", "model.rnn_type='transformer'"), ("frontend", "wav2vec", "model.frontend")],
)
def test_unknown_choices_name_the_override_and_the_options(key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _model(**{key: value})


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_every_variant_trains_under_bf16_autocast(variant: dict) -> None:
    """trainer=gpu trains in bf16-mixed; the peephole layer mixes bf16 matmuls with fp32 state."""
    model = _model(**variant).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = model(torch.randn(2, 12, 8), torch.tensor([12, 7]))
    logits.float().square().mean().backward()
    assert torch.isfinite(logits.float()).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kind, layers, bidirectional",
    [(kind, layers, bi) for kind in ("lstm", "gru", "rnn") for layers in (1, 3) for bi in (True, False)],
)
def test_padded_and_packed_recurrence_agree_in_outputs_and_gradients(
    kind: str, layers: int, bidirectional: bool
) -> None:
    """The CPU's padded path (backward direction reversed within each length) against packed
    sequences, padding filled with large noise; in eval mode (no inter-layer dropout)."""
    from asr.recurrent import TorchRecurrence

    torch.manual_seed(0)
    rnn = TorchRecurrence(kind, 8, 16, layers, bidirectional, dropout=0.2).eval()
    lengths = torch.tensor([30, 17, 9, 30])
    x = torch.randn(4, 30, 8)
    for row, n in enumerate(lengths.tolist()):
        x[row, n:] = 1000 * torch.randn(30 - n, 8)
    results = []
    for run in (rnn.packed, rnn.padded):
        rnn.zero_grad()
        inputs = x.clone().requires_grad_()
        out = run(inputs, lengths)
        (out * torch.linspace(-1, 1, out.size(-1))).sum().backward()
        grads = {name: p.grad.clone() for name, p in rnn.named_parameters()}
        results.append((out.detach(), inputs.grad, grads))
    (packed, packed_in, packed_w), (padded, padded_in, padded_w) = results
    torch.testing.assert_close(padded, packed, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(padded_in, packed_in, atol=1e-5, rtol=1e-4)
    for name, grad in packed_w.items():
        torch.testing.assert_close(padded_w[name], grad, atol=1e-4, rtol=1e-4, msg=name)
    assert torch.equal(rnn(x, lengths), padded), "on the CPU the module runs the padded path"


@pytest.mark.parametrize(
    "recurrence, expected", [("auto", "padded"), ("padded", "padded"), ("packed", "packed")]
)
def test_model_recurrence_picks_the_path(recurrence: str, expected: str, monkeypatch) -> None:
    """`model.recurrence` on the CPU: auto runs padded sequences, packed/padded force one."""
    from asr.recurrent import TorchRecurrence

    taken = []
    for path in ("packed", "padded"):
        original = getattr(TorchRecurrence, path)
        monkeypatch.setattr(
            TorchRecurrence, path, lambda self, x, n, _p=path, _f=original: taken.append(_p) or _f(self, x, n)
        )
    model = _model(recurrence=recurrence)
    model(torch.randn(2, 10, 8), torch.tensor([10, 7]))
    assert taken == [expected]


def test_unknown_recurrence_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"model.recurrence must be one of auto\|packed\|padded"):
        _model(recurrence="fused")


@pytest.mark.parametrize("dtype, fp32", [(torch.bfloat16, True), (torch.float16, False)])
def test_bf16_autocast_is_recognised_as_casting_the_cudnn_recurrence_to_fp16(
    dtype: torch.dtype, fp32: bool, monkeypatch
) -> None:
    """cuDNN's autocast rule would run it in fp16 under bf16; fp16 autocast keeps fp16 (with its
    gradient scaler). CUDA autocast is simulated: this machine may have no GPU."""
    from asr import recurrent

    x = torch.zeros(1)
    monkeypatch.setattr(torch.Tensor, "is_cuda", property(lambda self: True))
    monkeypatch.setattr(torch, "is_autocast_enabled", lambda device="cuda": device == "cuda")
    monkeypatch.setattr(torch, "get_autocast_dtype", lambda device: dtype)
    assert recurrent.cudnn_casts_to_fp16(x) is fp32


@pytest.mark.parametrize("supported, fp32", [(False, True), (True, False)])
def test_cpu_bf16_autocast_runs_the_recurrence_in_fp32_where_onednn_has_no_bf16(
    supported: bool, fp32: bool, monkeypatch
) -> None:
    """On an AVX2-only CPU autocast's bf16 LSTM kernel cannot be created; elsewhere bf16 stays.
    The CPU's support is simulated, so both answers are checked on any machine."""
    from asr import recurrent

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: supported)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert recurrent.onednn_lacks_bf16(torch.zeros(1)) is fp32
    assert recurrent.onednn_lacks_bf16(torch.zeros(1)) is False

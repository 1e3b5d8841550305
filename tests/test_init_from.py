"""`init_from`: fine-tuning starts from another run's weights, or says why it cannot; `freeze_layers` holds
the lower ones fixed."""

from pathlib import Path

import pytest
import torch

from asr.model import AcousticModel
from asr.recognizer import CheckpointError, Recognizer
from tests.conftest import save_untrained_checkpoint


def test_adopted_weights_are_the_checkpoint_s_whatever_the_normalisation(tmp_path: Path) -> None:
    source = save_untrained_checkpoint(tmp_path / "a.ckpt", seed=1)
    target = Recognizer.from_checkpoint(save_untrained_checkpoint(tmp_path / "b.ckpt", seed=2))
    before = {k: v.clone() for k, v in target.state_dict().items()}
    speaker = Recognizer(
        target.tokenizer.to_dict(),
        {"n_mels": 40, "normalize": "speaker"},
        {"hidden_size": 16, "num_layers": 1},
    )
    expected = Recognizer.from_checkpoint(source).state_dict()
    for recognizer in (target, speaker):
        recognizer.adopt_weights(source)
        assert all(torch.equal(value, expected[key]) for key, value in recognizer.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in target.state_dict().items())


@pytest.mark.parametrize(
    ("features", "model", "alphabet", "names"),
    [
        ({"n_mels": 64}, None, None, "n_mels"),
        ({"sample_rate": 8000}, None, None, "sample_rate"),
        (None, {"hidden_size": 24}, None, "model"),
        (None, None, "abc", "characters"),
    ],
)
def test_a_checkpoint_of_another_shape_is_refused_naming_it_and_what_differs(
    tmp_path: Path, features: dict | None, model: dict | None, alphabet: str | None, names: str
) -> None:
    source = save_untrained_checkpoint(tmp_path / "other.ckpt", 1, features, model, alphabet)
    target = Recognizer.from_checkpoint(save_untrained_checkpoint(tmp_path / "mine.ckpt", 2))
    with pytest.raises(CheckpointError, match=rf"init_from {source}.*{names}"):
        target.adopt_weights(source)


@pytest.mark.parametrize(
    "model",
    [
        {"hidden_size": 8, "num_layers": 3},
        {"hidden_size": 8, "num_layers": 3, "rnn_type": "peephole_lstm", "projection": 6},
        {"hidden_size": 8, "num_layers": 3, "frontend": "conv", "conv_channels": 2},
    ],
    ids=["fused-lstm", "peephole-per-layer", "conv-frontend"],
)
def test_freezing_stops_the_gradient_below_the_layer_and_nowhere_above(model: dict) -> None:
    """After `freeze_lower(2)` a loss gives the front end and the two lowest layers (the fused
    module's `_l0`, `_l1`, or those layers' own modules) no gradient, and the third layer and
    the head theirs."""
    acoustic = AcousticModel(n_mels=12, vocab_size=5, **model)
    acoustic.freeze_lower(2)
    torch.manual_seed(0)
    logits, _ = acoustic(torch.randn(2, 9, 12), torch.tensor([9, 6]))
    logits.sum().backward()
    rnn = acoustic.rnn
    frozen = [*acoustic.frontend.parameters()]
    if rnn.fused:
        named = dict(rnn.layers[0].rnn.named_parameters())
        frozen += [p for n, p in named.items() if "_l0" in n or "_l1" in n]
        trained = [p for n, p in named.items() if "_l2" in n]
    else:
        frozen += [*rnn.layers[:2].parameters(), *rnn.between[:2].parameters()]
        trained = [*rnn.layers[2].parameters()]
    trained += [*acoustic.head.parameters()]
    assert all(p.grad is None and not p.requires_grad for p in frozen)
    assert trained and all(p.grad is not None and p.grad.abs().sum() > 0 for p in trained)
    assert len(frozen) + len(trained) == len([*acoustic.parameters()])


def test_freezing_more_layers_than_the_model_has_is_refused() -> None:
    with pytest.raises(ValueError, match="freeze_layers=4: the model has 3"):
        AcousticModel(n_mels=12, vocab_size=5, hidden_size=8).freeze_lower(4)

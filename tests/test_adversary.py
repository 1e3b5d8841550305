"""Speaker-adversarial training: the gradient reversal negates what reaches the encoder, the
classifier reads only real frames of known speakers, and the classifier still learns."""

import pytest
import torch

from asr.adversary import SpeakerAdversary, reverse_gradient
from asr.module import SpeechRecognizer
from asr.text import CharTokenizer

SPEAKERS = ["speaker:ann", "speaker:bob", "speaker:cy"]


def test_reversal_is_the_identity_forward_and_negates_the_scaled_gradient_backward() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    y = reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    upstream = torch.randn(3, 4)
    y.backward(upstream)
    assert torch.allclose(x.grad, -0.3 * upstream)


def test_the_encoder_states_get_the_classifier_s_gradient_reversed_and_scaled() -> None:
    torch.manual_seed(0)
    adversary = SpeakerAdversary(6, SPEAKERS, weight=0.5)
    states = torch.randn(2, 5, 6, requires_grad=True)
    lengths = torch.tensor([5, 3])
    loss, _ = adversary(states, lengths, ["speaker:bob", "speaker:cy"])
    (reversed_grad,) = torch.autograd.grad(loss, states)
    adversary.weight = -1.0  # reversal by -1: the classifier's own gradient, unreversed
    loss, _ = adversary(states, lengths, ["speaker:bob", "speaker:cy"])
    (plain_grad,) = torch.autograd.grad(loss, states)
    assert torch.allclose(reversed_grad, -0.5 * plain_grad)
    assert reversed_grad.abs().sum() > 0


def test_padding_and_unknown_speakers_never_enter_the_loss() -> None:
    torch.manual_seed(1)
    adversary = SpeakerAdversary(6, SPEAKERS, weight=1.0)
    alone = torch.randn(1, 4, 6)
    loss_alone, acc_alone = adversary(alone, torch.tensor([4]), ["speaker:ann"])
    padded = torch.cat([alone, torch.randn(1, 3, 6) * 100], dim=1)
    stranger = torch.randn(1, 7, 6) * 100
    batch = torch.cat([padded, stranger])
    loss, acc = adversary(batch, torch.tensor([4, 7]), ["speaker:ann", "speaker:val-only"])
    assert torch.allclose(loss, loss_alone) and torch.allclose(acc, acc_alone)


def test_a_batch_of_only_unknown_speakers_adds_zero_but_reaches_every_weight() -> None:
    adversary = SpeakerAdversary(6, SPEAKERS, weight=1.0)
    loss, acc = adversary(torch.randn(2, 3, 6), torch.tensor([3, 2]), ["speaker:x", "speaker:y"])
    loss.backward()
    assert loss.item() == 0.0 and acc.item() == 0.0
    assert all(p.grad is not None for p in adversary.parameters())


def test_the_classifier_learns_to_tell_speakers_apart_from_states_that_carry_them() -> None:
    torch.manual_seed(2)
    adversary = SpeakerAdversary(6, SPEAKERS, weight=1.0)
    offsets = torch.randn(3, 6) * 3
    keys = [SPEAKERS[i % 3] for i in range(12)]
    states = torch.randn(12, 5, 6) + offsets[torch.arange(12) % 3][:, None, :]
    optimizer = torch.optim.Adam(adversary.parameters(), lr=0.01)
    first, _ = adversary(states, torch.full((12,), 5), keys)
    for _ in range(100):
        optimizer.zero_grad()
        loss, accuracy = adversary(states, torch.full((12,), 5), keys)
        loss.backward()
        optimizer.step()
    assert loss < first / 4 and accuracy > 0.9


def test_a_single_training_speaker_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="speaker_adversary=0"):
        SpeakerAdversary(6, ["speaker:ann"], 0.5)


def test_a_negative_weight_is_refused_where_the_config_enters() -> None:
    with pytest.raises(ValueError, match=r"speaker_adversary is a weight.*-0\.1"):
        SpeechRecognizer(
            CharTokenizer().to_dict(), {}, {"hidden_size": 8, "num_layers": 1}, speaker_adversary=-0.1
        )

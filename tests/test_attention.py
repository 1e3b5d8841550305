"""The attention decoder: padding never leaks into an utterance's outputs, attention or loss; the
loss is the smoothed cross-entropy of every character and the end; the joint loss trains every
weight, under bf16 autocast too."""

import pytest
import torch

from asr.attention import EOS, AttentionConfig, AttentionDecoder
from asr.data.datamodule import Batch
from asr.module import SpeechRecognizer
from asr.text import CharTokenizer

CONFIG = dict(
    embedding=6,
    hidden_size=10,
    attention_size=8,
    location_channels=3,
    location_kernel=5,
    ctc_weight=0.3,
    label_smoothing=0.0,
)


def _decoder(**changes: float) -> AttentionDecoder:
    torch.manual_seed(0)
    return AttentionDecoder(AttentionConfig(**CONFIG | changes), encoder_size=4, vocab_size=7).eval()


def test_padding_never_leaks_into_outputs_attention_or_loss() -> None:
    decoder = _decoder()
    generator = torch.Generator().manual_seed(1)
    encoder = torch.randn(2, 9, 4, generator=generator)
    lengths = torch.tensor([9, 5])
    targets = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    target_lengths = torch.tensor([4, 2])
    noisy = encoder.clone()
    noisy[1, 5:] = 100 * torch.randn(4, 4, generator=generator)
    noisy_targets = targets.clone()
    noisy_targets[1, 2:] = torch.tensor([3, 1])
    logits, weights = decoder(noisy, lengths, noisy_targets, target_lengths)
    alone_logits, alone_weights = decoder(encoder[1:, :5], lengths[1:], targets[1:, :2], target_lengths[1:])
    torch.testing.assert_close(logits[1, :3], alone_logits[0])
    torch.testing.assert_close(weights[1, :3, :5], alone_weights[0])
    assert (weights[1, :, 5:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5))
    batch = decoder.losses(noisy, lengths, noisy_targets, target_lengths)
    alone = decoder.losses(encoder[1:, :5], lengths[1:], targets[1:, :2], target_lengths[1:])
    torch.testing.assert_close(batch[1], alone[0])


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_loss_is_the_smoothed_cross_entropy_of_every_character_and_the_end(smoothing: float) -> None:
    decoder = _decoder(label_smoothing=smoothing)
    encoder, lengths = torch.randn(1, 6, 4), torch.tensor([6])
    targets, target_lengths = torch.tensor([[3, 1, 3]]), torch.tensor([3])
    logits, _ = decoder(encoder, lengths, targets, target_lengths)
    log_probs = logits[0].log_softmax(-1)
    wanted = [3, 1, 3, EOS]
    nll = -log_probs[torch.arange(4), wanted]
    expected = ((1 - smoothing) * nll - smoothing * log_probs.mean(-1)).mean()
    torch.testing.assert_close(decoder.losses(encoder, lengths, targets, target_lengths)[0], expected)


def test_teacher_forcing_feeds_the_true_previous_character_from_a_start_symbol() -> None:
    decoder = _decoder()
    encoder, lengths = torch.randn(1, 6, 4), torch.tensor([6])
    targets = torch.tensor([[2, 5]])
    logits, _ = decoder(encoder, lengths, targets, torch.tensor([2]))
    state = decoder.start(encoder, lengths)
    for i, token in enumerate([EOS, 2, 5]):
        step, state = decoder.step(torch.tensor([token]), state)
        torch.testing.assert_close(logits[:, i], step)


@pytest.mark.parametrize("value, message", [(0, "location_kernel must be odd"), (1, "ctc_weight")])
def test_bad_settings_name_the_key(value: int, message: str) -> None:
    changes = {"location_kernel": 4} if value == 0 else {"ctc_weight": 1.0}
    with pytest.raises(ValueError, match=message):
        AttentionConfig(**CONFIG | changes)


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
def test_joint_loss_mixes_ctc_and_attention_and_trains_every_weight(autocast: bool) -> None:
    tokenizer = CharTokenizer()
    model = {"hidden_size": 8, "num_layers": 1, "stride": 2, "attention": CONFIG | {"ctc_weight": 0.25}}
    module = SpeechRecognizer(tokenizer.to_dict(), {"n_mels": 16}, model).train()
    torch.manual_seed(2)
    targets = torch.tensor([tokenizer.encode("abc"), [*tokenizer.encode("de"), 0]])
    batch = Batch(torch.randn(2, 8000), torch.tensor([8000, 6000]), targets, torch.tensor([3, 2]), ["a", "b"])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        losses, log_probs, frames, _ = module._losses(batch)
    assert torch.isfinite(losses).all()
    losses.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in module.parameters())
    if not autocast:  # the same weights, dropout off: the loss is exactly λ·CTC + (1 - λ)·attention
        module.eval()
        losses, log_probs, frames, _ = module._losses(batch)
        states, _ = module.recognizer.encode(batch.waves, batch.wave_lengths)
        ctc = (
            module.ctc(log_probs.transpose(0, 1), targets, frames, batch.target_lengths)
            / batch.target_lengths
        )
        spoken = module.recognizer.attention.losses(states, frames, targets, batch.target_lengths)
        torch.testing.assert_close(losses, 0.25 * ctc + 0.75 * spoken)

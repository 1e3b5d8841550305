"""Joint CTC/attention search: CTC prefix probabilities equal brute force over every alignment, the
search at λ = 1 finds the most probable transcript, and CTC keeps a wayward attention decoder from
cutting an utterance short or looping past its end."""

import itertools

import numpy as np
import pytest
import torch

from asr.attention import EOS, AttentionConfig, AttentionDecoder
from asr.joint_search import CtcPrefixScorer, JointDecoder, JointSettings
from asr.text import CharTokenizer

TOKENIZER = CharTokenizer(alphabet="ab")  # blank 0, then a, b
CONFIG = AttentionConfig(
    embedding=4,
    hidden_size=8,
    attention_size=6,
    location_channels=2,
    location_kernel=3,
    ctc_weight=0.3,
    label_smoothing=0.0,
)


def _random_log_probs(frames: int, seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(frames, TOKENIZER.vocab_size, generator=generator, dtype=torch.float64)
    return logits.log_softmax(-1).numpy()  # float64: rows sum to 1 as closely as the brute force needs


def _labelling_probs(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """P(transcript) for every transcript: the sum over all alignments that collapse to it."""
    probs: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        collapsed = tuple(t for i, t in enumerate(path) if t != 0 and (i == 0 or path[i - 1] != t))
        p = float(np.exp(sum(log_probs[t, k] for t, k in enumerate(path))))
        probs[collapsed] = probs.get(collapsed, 0.0) + p
    return probs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ctc_prefix_and_end_probabilities_equal_the_sum_over_every_alignment(seed: int) -> None:
    log_probs = _random_log_probs(5, seed)
    labellings = _labelling_probs(log_probs)
    scorer = CtcPrefixScorer(log_probs, blank=0)
    for length in range(4):
        for prefix in itertools.product((1, 2), repeat=length):
            r, last = scorer.initial(), torch.tensor([0])
            for step, token in enumerate(prefix):
                r = scorer.extend(r, last, torch.tensor([token]), empty=step == 0)
                last = torch.tensor([token])
            scores = scorer.scores(r, last, empty=length == 0)[0].exp().numpy()
            assert scores[0] == pytest.approx(labellings.get(prefix, 0.0), rel=1e-9, abs=1e-15)
            for token in (1, 2):
                extended = (*prefix, token)
                wanted = sum(p for labels, p in labellings.items() if labels[: len(extended)] == extended)
                assert scores[token] == pytest.approx(wanted, rel=1e-9, abs=1e-15)


def _decoder(seed: int = 0) -> AttentionDecoder:
    torch.manual_seed(seed)
    return AttentionDecoder(CONFIG, encoder_size=5, vocab_size=TOKENIZER.vocab_size).eval()


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_search_with_ctc_alone_and_a_beam_over_every_prefix_finds_the_most_probable_transcript(
    seed: int,
) -> None:
    log_probs = _random_log_probs(5, seed)
    labellings = _labelling_probs(log_probs)
    search = JointDecoder(TOKENIZER, _decoder(), JointSettings(beam_size=64, ctc_weight=1.0))
    found = search.search(log_probs, np.zeros((5, 5), dtype=np.float32))
    best = max(labellings, key=labellings.get)
    assert tuple(found.tokens) == best
    assert found.score == pytest.approx(np.log(labellings[best]), abs=1e-9)


def _spelling(text: str, frames_per_char: int = 4) -> np.ndarray:
    """Peaky CTC log-probabilities that clearly spell `text`: each character for a frame, then blanks."""
    probs = np.full((len(text) * frames_per_char, TOKENIZER.vocab_size), 0.001)
    for i, token in enumerate(TOKENIZER.encode(text)):
        probs[i * frames_per_char, token] = 1.0
        probs[i * frames_per_char + 1 : (i + 1) * frames_per_char, 0] = 1.0
    return np.log(probs / probs.sum(axis=1, keepdims=True))


class Scripted(AttentionDecoder):
    """An attention decoder that, whatever it heard, says `script` and then the end: one that
    stops too soon, or runs on past the audio."""

    def __init__(self, script: str) -> None:
        torch.manual_seed(0)
        super().__init__(CONFIG, encoder_size=5, vocab_size=TOKENIZER.vocab_size)
        self.script = [*TOKENIZER.encode(script), EOS]
        self.calls = 0

    def start(self, encoder: torch.Tensor, lengths: torch.Tensor):
        self.calls = 0
        return super().start(encoder, lengths)

    def step(self, tokens: torch.Tensor, state):
        _, state = super().step(tokens, state)
        logits = torch.zeros(len(tokens), TOKENIZER.vocab_size)
        logits[:, self.script[min(self.calls, len(self.script) - 1)]] = 4.0
        self.calls += 1
        return logits, state


@pytest.mark.parametrize("script", ["ab", "abbaabbaabba"], ids=["stops-too-soon", "runs-on"])
def test_ctc_keeps_a_wayward_attention_decoder_from_cutting_or_looping(script: str) -> None:
    log_probs = _spelling("abba")
    states = np.random.default_rng(0).standard_normal((len(log_probs), 5)).astype(np.float32)
    decoder = Scripted(script).eval()
    attention_only = JointDecoder(TOKENIZER, decoder, JointSettings(beam_size=4, ctc_weight=0.0))
    assert attention_only.decode(log_probs, states) == script
    joint = JointDecoder(TOKENIZER, decoder, JointSettings(beam_size=4, ctc_weight=0.5))
    assert joint.decode(log_probs, states) == "abba"


def test_the_best_hypothesis_carries_its_attention_weights_one_row_per_output_and_the_end() -> None:
    log_probs = _spelling("ab")
    states = np.random.default_rng(1).standard_normal((len(log_probs), 5)).astype(np.float32)
    found = JointDecoder(TOKENIZER, _decoder(), JointSettings(4, 0.5)).search(
        log_probs, states, keep_weights=True
    )
    assert found.weights.shape == (len(found.tokens) + 1, len(log_probs))
    np.testing.assert_allclose(found.weights.sum(axis=1), 1.0, rtol=1e-5)

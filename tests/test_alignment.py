"""Word timings: the CTC alignment against torchaudio's forced_align kernel, and words timed from it."""

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from asr.alignment import ctc_alignment, word_timings
from asr.text import CharTokenizer

TOK = CharTokenizer()


def _spans_of(path: list[int], count: int) -> np.ndarray:
    """First and last frame of each token from a frame-level path of token indices (-1: blank)."""
    return np.array([[path.index(k), len(path) - 1 - path[::-1].index(k)] for k in range(count)])


@pytest.mark.parametrize("text", ["a", "hello", "look at the moon", "aab bba", "set a timer for " * 8])
def test_alignment_matches_torchaudio_forced_align(text: str) -> None:
    rng = np.random.default_rng(len(text))
    tokens = TOK.encode(text)
    frames = 3 * len(tokens) + 5
    log_probs = torch.from_numpy(rng.normal(size=(frames, TOK.vocab_size)) * 3).log_softmax(-1)
    reference, _ = AF.forced_align(log_probs[None].float(), torch.tensor([tokens]), blank=TOK.blank_id)
    # Turn torchaudio's frame labels into token indices: a new token starts where the label changes
    # to a non-blank, or repeats after a blank.
    path, k, previous = [], -1, TOK.blank_id
    for label in reference[0].tolist():
        if label != TOK.blank_id and label != previous:
            k += 1
        path.append(k if label != TOK.blank_id else -1)
        previous = label
    np.testing.assert_array_equal(
        ctc_alignment(log_probs.numpy(), tokens, TOK.blank_id), _spans_of(path, len(tokens))
    )


def test_too_few_frames_for_the_tokens_is_an_error() -> None:
    log_probs = np.log(np.full((3, TOK.vocab_size), 1 / TOK.vocab_size))
    assert len(ctc_alignment(log_probs, TOK.encode("aa"), TOK.blank_id)) == 2  # a, blank, a
    with pytest.raises(ValueError, match="cannot hold"):
        ctc_alignment(log_probs[:2], TOK.encode("aa"), TOK.blank_id)


def test_words_are_timed_from_their_characters_frames_in_seconds_of_the_recording() -> None:
    """A peaky path: 'hi' on frames 2-3, 'yo' on frames 8-9, blanks elsewhere; 25 frames/s, offset 10 s."""
    labels = [0, 0, "h", "i", 0, 0, " ", 0, "y", "o", 0]
    log_probs = np.full((len(labels), TOK.vocab_size), np.log(0.01))
    for t, label in enumerate(labels):
        log_probs[t, label if label == 0 else TOK.encode(label)[0]] = np.log(0.9)
    words = word_timings(log_probs, "hi yo", TOK, frames_per_second=25.0, offset=10.0)
    assert [(w.text, w.start, w.end) for w in words] == [("hi", 10.08, 10.16), ("yo", 10.32, 10.4)]
    assert all(w.confidence == pytest.approx(0.9, abs=1e-6) for w in words)
    assert word_timings(log_probs, "", TOK, 25.0) == []

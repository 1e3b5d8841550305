"""Word timings from the CTC alignment: where in the log-probabilities each word of a transcript sits.

Whatever decoder chose the text, the timings come from one place: the most likely CTC path that
spells exactly that text (Viterbi over the blank-interleaved token sequence). A word starts at
the first frame of its first character and ends after the last frame of its last character; its
confidence is the geometric mean, over its characters, of the posterior at each character's
most confident frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asr.text import CharTokenizer


@dataclass(frozen=True)
class Word:
    """A recognised word, its start and end in seconds of the original recording, and its confidence."""

    text: str
    start: float
    end: float
    confidence: float


def ctc_alignment(log_probs: np.ndarray, tokens: list[int], blank: int) -> np.ndarray:
    """The frame span of each token on the best CTC path spelling `tokens`: (len(tokens), 2) of
    first and last frame, inclusive.

    ValueError if the frames cannot hold the tokens (a CTC path needs a frame per token, plus a
    blank between repeated tokens).
    """
    frames, count = len(log_probs), len(tokens)
    if count == 0:
        return np.zeros((0, 2), dtype=np.int64)
    labels = np.full(2 * count + 1, blank)
    labels[1::2] = tokens
    states = len(labels)
    # A state may come from itself, the previous state, or (a token not repeating the one two back)
    # the state two back, skipping the blank between them.
    skip = np.zeros(states, dtype=bool)
    skip[3::2] = labels[3::2] != labels[1:-2:2]
    emit = log_probs[:, labels]
    score = np.full(states, -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, states), dtype=np.int8)
    for t in range(1, frames):
        stay, step = score, np.concatenate(([-np.inf], score[:-1]))
        jump = np.where(skip, np.concatenate(([-np.inf, -np.inf], score[:-2])), -np.inf)
        moves = np.stack([stay, step, jump])
        back[t] = moves.argmax(axis=0)
        score = moves.max(axis=0) + emit[t]
    end = states - 1 if score[-1] >= score[-2] else states - 2
    if not np.isfinite(score[end]):
        raise ValueError(f"{frames} frames cannot hold a CTC path of {count} tokens")
    path = np.empty(frames, dtype=np.int64)
    for t in range(frames - 1, -1, -1):
        path[t] = end
        end -= int(back[t, end])
    spans = np.zeros((count, 2), dtype=np.int64)
    for k in range(count):
        where = np.flatnonzero(path == 2 * k + 1)
        spans[k] = where[0], where[-1]
    return spans


def word_timings(
    log_probs: np.ndarray, text: str, tokenizer: CharTokenizer, frames_per_second: float, offset: float = 0.0
) -> list[Word]:
    """The words of `text` (as decoded from `log_probs`, one segment's (T, vocab) log-probabilities),
    timed in seconds from `offset`, the segment's start in its recording."""
    words = text.split()
    if not words:
        return []
    spelled = " ".join(words)
    tokens = tokenizer.encode(spelled)
    spans = ctc_alignment(log_probs, tokens, tokenizer.blank_id)
    out, position = [], 0
    for word in words:
        chars = range(position, position + len(word))
        first, last = spans[chars.start, 0], spans[chars.stop - 1, 1]
        peaks = [log_probs[spans[k, 0] : spans[k, 1] + 1, tokens[k]].max() for k in chars]
        out.append(
            Word(
                word,
                round(offset + first / frames_per_second, 3),
                round(offset + (last + 1) / frames_per_second, 3),
                round(float(np.exp(np.mean(peaks))), 4),
            )
        )
        position = chars.stop + 1
    return out

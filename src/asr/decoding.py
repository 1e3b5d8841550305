"""CTC search: greedy best path, and beam search with a lexicon and a word n-gram language model.

The beam search is a prefix search over characters in which paths into one prefix are merged by
their maximum (Viterbi), not their sum: with beam 1 and no language model it is exactly the
greedy best path, and every hypothesis keeps one best alignment. The language model scores each
word when a space or the end of the utterance completes it; until then a half-spelt word carries
the best unigram score of the words it can still become (zero, one or many in the lexicon's prefix
tree), so that it competes fairly with hypotheses whose words are complete. Lexicon-constrained,
a prefix is never extended by a character that would leave the tree; lexicon-free, a word outside
the lexicon carries the score of `<unk>`.
"""

from __future__ import annotations

import copy
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from asr.lexicon import TrieNode, build_trie
from asr.lm import EOS, UNK, NgramModel
from asr.text import CharTokenizer

if TYPE_CHECKING:  # decoding itself is numpy: the ONNX path runs it without importing torch
    import torch

LN10 = math.log(10)
NEG_INF = float("-inf")


def best_path(log_probs: np.ndarray, blank: int) -> list[int]:
    """One utterance's (T, vocab) log-probabilities to its best path: argmax per frame, repeats
    merged, blanks removed."""
    best = log_probs.argmax(axis=-1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return [int(t) for t in best[keep] if t != blank]


class GreedyDecoder:
    """Log-probabilities to text by the best path."""

    def __init__(self, tokenizer: CharTokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """A padded (B, T, vocab) batch and its lengths to B texts."""
        rows = log_probs.detach().float().cpu().numpy()
        return [self.decode(row[:n]) for row, n in zip(rows, lengths.cpu().tolist(), strict=True)]

    def decode(self, log_probs: np.ndarray) -> str:
        """Text of one utterance's (T, vocab) log-probabilities."""
        return self.tokenizer.decode(best_path(log_probs, self.tokenizer.blank_id))


@dataclass(frozen=True)
class BeamSettings:
    """The search's knobs: hypotheses kept per frame, how far (in nats) below the best a hypothesis or
    a frame's token may fall and survive, the LM's weight and a score added per word."""

    beam_size: int
    beam_threshold: float
    lm_weight: float
    word_score: float

    def __post_init__(self) -> None:
        if self.beam_size < 1 or not self.beam_threshold > 0:
            raise ValueError(f"beam_size must be >= 1 and beam_threshold > 0, not {self}")


class _Prefix:
    """What a hypothesis's text alone decides: its last token, the LM and word scores of its finished
    words, the look-ahead of its unfinished one, where that word starts, its node in the prefix tree,
    the tokens that may follow (None: any) and the LM's context."""

    __slots__ = ("allowed", "bonus", "fixed", "last", "node", "state", "word_start")

    def __init__(
        self,
        last: int,
        fixed: float,
        ahead: float,
        node: TrieNode | None,
        allowed: frozenset[int] | None,
        state: tuple,
        word_start: int,
    ) -> None:
        self.last = last
        self.fixed = fixed
        self.bonus = fixed + ahead
        self.node = node
        self.allowed = allowed
        self.state = state
        self.word_start = word_start


class BeamSearchDecoder:
    """CTC beam search, lexicon-constrained when given `lexicon`, with `lm` scoring finished words."""

    def __init__(
        self,
        tokenizer: CharTokenizer,
        settings: BeamSettings,
        lexicon: Sequence[str] | None = None,
        lm: NgramModel | None = None,
    ) -> None:
        if " " not in tokenizer.alphabet:
            raise ValueError("beam search needs a space in the alphabet to find word boundaries")
        self.tokenizer = tokenizer
        self.settings = settings
        self.lm = lm
        self.lexicon = frozenset(lexicon) if lexicon is not None else None
        self._chars = ["", *tokenizer.alphabet]
        self._ids = {c: i for i, c in enumerate(self._chars) if c}
        self._space = self._ids[" "]
        self._next_tokens: dict[int, frozenset[int]] = {}
        self._lm_cache: dict[tuple[tuple, str], tuple[tuple, float]] = {}
        words = lexicon if lexicon is not None else (sorted(lm.vocabulary - {EOS, UNK}) if lm else None)
        self._root = build_trie(words, self._unigram) if words is not None else None
        self._unknown = settings.lm_weight * self._unigram(UNK) if lm else 0.0

    def with_settings(self, settings: BeamSettings) -> BeamSearchDecoder:
        """The same lexicon and LM (prefix tree included) searched with other settings."""
        other = copy.copy(self)
        other.settings = settings
        other._lm_cache = {}
        other._unknown = settings.lm_weight * self._unigram(UNK) if self.lm else 0.0
        return other

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        rows = log_probs.detach().float().cpu().numpy()
        return [self.decode(row[:n]) for row, n in zip(rows, lengths.cpu().tolist(), strict=True)]

    def _unigram(self, word: str) -> float:
        return LN10 * self.lm.log10_prob((), word) if self.lm else 0.0

    def _word(self, state: tuple, word: str) -> tuple[tuple, float]:
        """The LM context after `word`, and its weighted LM score plus the word score."""
        key = (state, word)
        found = self._lm_cache.get(key)
        if found is None:
            if self.lm is None:
                found = ((), self.settings.word_score)
            else:
                logp = LN10 * self.lm.log10_prob(state, word)
                context = (*state, word)[max(0, len(state) + 2 - self.lm.order) :]
                found = (context, self.settings.lm_weight * logp + self.settings.word_score)
            self._lm_cache[key] = found
        return found

    def _extend(self, prefix: _Prefix, text: str, token: int) -> _Prefix:
        """The prefix `text` + token, a token that `prefix.allowed` let through. A space with no word
        before it finishes nothing and scores nothing."""
        root = self._root
        if token == self._space:
            word = text[prefix.word_start :]
            if not word:
                return _Prefix(
                    token, prefix.fixed, 0.0, root, self._allowed(root), prefix.state, len(text) + 1
                )
            state, score = self._word(prefix.state, word)
            return _Prefix(token, prefix.fixed + score, 0.0, root, self._allowed(root), state, len(text) + 1)
        node = prefix.node.children.get(self._chars[token]) if prefix.node is not None else None
        ahead = self.settings.lm_weight * node.lookahead if node is not None and self.lm else self._unknown
        return _Prefix(token, prefix.fixed, ahead, node, self._allowed(node), prefix.state, prefix.word_start)

    def _allowed(self, node: TrieNode | None) -> frozenset[int] | None:
        """The lexicon constraint, in one place: the tokens that may follow `node` are its letters,
        and a space where it ends a word (or no word has begun); lexicon-free, any (None)."""
        if self.lexicon is None:
            return None
        found = self._next_tokens.get(id(node))
        if found is None:
            ids = {self._ids[c] for c in node.children}
            if node.is_word or node is self._root:
                ids.add(self._space)
            found = self._next_tokens[id(node)] = frozenset(ids)
        return found

    def _finish(self, prefix: _Prefix, text: str) -> float | None:
        """Score of ending the utterance here: the last word and `</s>`; None if the last word
        cannot end (outside the lexicon)."""
        word = text[prefix.word_start :]
        state, fixed = prefix.state, prefix.fixed
        if word:
            if self.lexicon is not None and not prefix.node.is_word:
                return None
            state, score = self._word(state, word)
            fixed += score
        if self.lm is not None:
            fixed += self.settings.lm_weight * LN10 * self.lm.log10_prob(state, EOS)
        return fixed

    def decode(self, log_probs: np.ndarray) -> str:
        """Text of one utterance's (T, vocab) log-probabilities."""
        beam_size, threshold = self.settings.beam_size, self.settings.beam_threshold
        blank, chars = self.tokenizer.blank_id, self._chars
        frame_best = log_probs.max(axis=1, keepdims=True)
        keep = log_probs >= frame_best - threshold
        keep[:, blank] = False
        frames, tokens = np.nonzero(keep)
        candidates: list[set[int]] = [set() for _ in range(len(log_probs))]
        for t, token in zip(frames.tolist(), tokens.tolist(), strict=True):
            candidates[t].add(token)
        root = self._root
        beams: dict[str, list] = {"": [0.0, NEG_INF, _Prefix(-1, 0.0, 0.0, root, self._allowed(root), (), 0)]}
        made: dict[str, _Prefix] = {}  # every prefix extended so far
        for row, options in zip(log_probs.tolist(), candidates, strict=True):
            stay_blank = row[blank]
            # Each text first stays as it is (a blank, or its last token again); extensions into a
            # text already present then keep the better path.
            grown: dict[str, list] = {
                text: [
                    max(p_blank, p_token) + stay_blank,
                    p_token + row[prefix.last] if prefix.last >= 0 else NEG_INF,
                    prefix,
                ]
                for text, (p_blank, p_token, prefix) in beams.items()
            }
            for text, (p_blank, p_token, prefix) in beams.items():
                last = prefix.last
                best = p_blank if p_blank > p_token else p_token
                allowed = prefix.allowed
                for token in options if allowed is None else options & allowed:
                    score = (p_blank if token == last else best) + row[token]
                    child = text + chars[token]
                    seen = grown.get(child)
                    if seen is not None:
                        if score > seen[1]:
                            seen[1] = score
                    else:
                        extended = made.get(child)
                        if extended is None:
                            extended = made[child] = self._extend(prefix, text, token)
                        grown[child] = [NEG_INF, score, extended]
            scored = [(max(e[0], e[1]) + e[2].bonus, text) for text, e in grown.items()]
            top = heapq.nlargest(beam_size, scored) if len(scored) > beam_size else scored
            floor = max(top)[0] - threshold
            beams = {text: grown[text] for score, text in top if score >= floor}
        ended = [
            (max(e[0], e[1]) + end, text)
            for text, e in beams.items()
            if (end := self._finish(e[2], text)) is not None
        ]
        if ended:
            return " ".join(max(ended)[1].split())
        text, entry = max(beams.items(), key=lambda item: max(item[1][0], item[1][1]) + item[1][2].bonus)
        return " ".join(text[: entry[2].word_start].split())

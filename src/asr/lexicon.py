"""The lexicon: the words a lexicon-constrained search may spell, one per line, as a prefix tree.

A word list rather than flashlight's "word  s p e l l i n g" lines: the tokens are characters, so
a word's spelling is the word. Words go through the tokenizer's normalisation, like transcripts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from asr.text import CharTokenizer


class LexiconError(ValueError):
    """A lexicon file that is missing, empty or has unusable lines; the message names file and line."""


def read_lexicon(path: str | Path, tokenizer: CharTokenizer) -> list[str]:
    """Words of a word list (one per line, blank lines ignored), normalised and checked."""
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"lexicon {path} does not exist: fix decoder.lexicon or give a word list")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise LexiconError(f"lexicon {path} is not UTF-8 text ({err})") from err
    words: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            word = tokenizer.normalize(line)
        except ValueError as err:
            raise LexiconError(f"{path}:{number}: {err}") from None
        if " " in word:
            raise LexiconError(f"{path}:{number}: {line.strip()!r} is not one word: one word per line")
        words.append(word)
    if not words:
        raise LexiconError(f"lexicon {path} has no words: give one word per line")
    return sorted(set(words))


def write_lexicon(words: Iterable[str], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{w}\n" for w in sorted(set(words))), encoding="utf-8")
    return path


class TrieNode:
    """A prefix of words: the characters that continue it, whether it is a word itself, and the best
    score among the words it begins (the look-ahead that lets a search compare a half-spelt word
    with a finished one)."""

    __slots__ = ("children", "is_word", "lookahead")

    def __init__(self) -> None:
        self.children: dict[str, TrieNode] = {}
        self.is_word = False
        self.lookahead = float("-inf")


def build_trie(words: Iterable[str], score: Callable[[str], float]) -> TrieNode:
    """Prefix tree of `words`, each node's look-ahead the best `score` of the words below it."""
    root = TrieNode()
    for word in words:
        value = score(word)
        node = root
        node.lookahead = max(node.lookahead, value)
        for char in word:
            node = node.children.setdefault(char, TrieNode())
            node.lookahead = max(node.lookahead, value)
        node.is_word = True
    return root

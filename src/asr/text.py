"""Character tokenizer and the text normalisation that every transcript goes through.

Training, decoding and scoring all see text through `normalize_text`, so a reference and a
hypothesis are compared in the same alphabet that the model was trained on.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_ALPHABET = " '" + "abcdefghijklmnopqrstuvwxyz"

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lowercase, unify apostrophes, strip accents and collapse whitespace.

    Punctuation is not removed here: a character outside the vocabulary is an error the manifest
    reader reports with its file and line, rather than something silently dropped.
    """
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text.lower()).strip()


class CharTokenizer:
    """Maps characters to ids with the CTC blank at id 0."""

    def __init__(self, alphabet: str = DEFAULT_ALPHABET) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError(f"alphabet has repeated characters: {alphabet!r}")
        self.alphabet = alphabet
        self._ids = {c: i + 1 for i, c in enumerate(alphabet)}

    @property
    def blank_id(self) -> int:
        return 0

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + 1

    def unknown_chars(self, text: str) -> set[str]:
        """Characters of `text` that this tokenizer cannot encode."""
        return {c for c in text if c not in self._ids}

    def normalize(self, text: str) -> str:
        """`normalize_text(text)`, checked: what every transcript, LM sentence and lexicon word goes
        through, so that all three live in one alphabet."""
        text = normalize_text(text)
        unknown = self.unknown_chars(text)
        if unknown:
            raise ValueError(
                f"transcript {text!r} has characters {sorted(unknown)} outside the vocabulary "
                f"{self.alphabet!r}: spell them out or extend the tokenizer's alphabet"
            )
        return text

    def encode(self, text: str) -> list[int]:
        unknown = self.unknown_chars(text)
        if unknown:
            raise ValueError(f"characters {sorted(unknown)} are not in the vocabulary in {text!r}")
        return [self._ids[c] for c in text]

    def decode(self, ids: list[int]) -> str:
        """Ids to text; the blank and out-of-range ids contribute nothing."""
        n = len(self.alphabet)
        return "".join(self.alphabet[i - 1] for i in ids if 0 < i <= n)

    def to_dict(self) -> dict:
        return {"type": "char", "alphabet": self.alphabet}

    @classmethod
    def from_dict(cls, state: dict) -> CharTokenizer:
        if state.get("type") != "char":
            raise ValueError(f"unknown tokenizer type {state.get('type')!r}")
        return cls(state["alphabet"])

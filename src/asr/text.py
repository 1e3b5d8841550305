"""Character tokenizer and the text normalisation that every transcript goes through.

Training, decoding and scoring all see text through `normalize_text`, so a reference and a
hypothesis are compared in the same alphabet that the model was trained on.
"""

from __future__ import annotations

import re
import unicodedata

from asr.numbers import number_to_words, ordinal_to_words

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


_BREAKS = re.compile(r"[-\u2010-\u2015/]")  # hyphens, dashes and slashes separate words
_SYMBOLS = {"%": " percent", "&": " and "}
# 5, 1,000, 3.14, 21st as words of their own: thousands grouped by commas, a decimal part, an
# ordinal suffix. Digits inside a word ("mp3", "90s") are not simple numbers.
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(?![\w])")


def _spell_number(match: re.Match) -> str:
    whole, decimals, ordinal = match.groups()
    n = int(whole.replace(",", ""))
    if n >= 10000 or (ordinal and decimals):
        return match.group(0)  # left as digits: the tokenizer refuses it, naming the transcript
    words = ordinal_to_words(n) if ordinal else number_to_words(n)
    if decimals:
        words += " point " + " ".join(number_to_words(int(d)) for d in decimals)
    return f" {words} "


def spoken_form(text: str) -> str:
    """A transcript as a real corpus writes it, in the words a speaker says (`data.text.normalize`,
    NeMo's and ESPnet's recipes do the same): `normalize_text`, then hyphens, dashes and slashes to
    spaces, numbers below 10,000 spelt out (thousands commas, decimals, ordinals) with the corpus's
    own number speller, % and & as words, punctuation other than the apostrophe removed. Anything
    else (larger numbers, digits inside words, other symbols) is left for the tokenizer to refuse.

    >>> spoken_form("Set a timer, for FIFTY-eight minutes!")
    'set a timer for fifty eight minutes'
    >>> spoken_form("Call me at 5:30 on June 21st.")
    'call me at five thirty on june twenty first'
    >>> spoken_form("It's 3.5% of 1,205 km/h (roughly).")
    "it's three point five percent of one thousand two hundred and five km h roughly"
    >>> spoken_form('"Rock & roll" -- side B/2')
    'rock and roll side b two'
    >>> spoken_form("Count 1,2,3!")
    'count one two three'
    >>> spoken_form("Population: 38,000,000")
    'population 38,000,000'
    >>> spoken_form("The 90s on MP3")
    'the 90s on mp3'
    """
    text = _BREAKS.sub(" ", normalize_text(text))
    text = _NUMBER.sub(_spell_number, text)
    text = "".join(_SYMBOLS.get(c, c) for c in text)
    text = "".join(
        " " if unicodedata.category(c).startswith("P") and c != "'" and not _inside_number(text, i) else c
        for i, c in enumerate(text)
    )
    return _SPACES.sub(" ", text).strip()


def _inside_number(text: str, i: int) -> bool:
    """A comma or point between digits: part of a number left as digits, for the tokenizer to name."""
    return 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


class CharTokenizer:
    """Maps characters to ids with the CTC blank at id 0.

    With `spoken_form` (`data.text.normalize=true` in training) every transcript, LM sentence and
    lexicon word it normalises goes through `spoken_form` first. It is saved with the alphabet in
    checkpoints, so that scoring normalises references the way training normalised transcripts.
    """

    def __init__(self, alphabet: str = DEFAULT_ALPHABET, spoken_form: bool = False) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise ValueError(f"alphabet has repeated characters: {alphabet!r}")
        self.alphabet = alphabet
        self.spoken_form = spoken_form
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
        text = spoken_form(text) if self.spoken_form else normalize_text(text)
        unknown = self.unknown_chars(text)
        if unknown:
            raise ValueError(
                f"transcript {text!r} has characters {sorted(unknown)} outside the vocabulary "
                f"{self.alphabet!r}: spell them out or extend the tokenizer's alphabet"
                + (
                    ""
                    if self.spoken_form
                    else " (data.text.normalize=true spells out simple numbers and drops punctuation)"
                )
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
        return {"type": "char", "alphabet": self.alphabet, "spoken_form": self.spoken_form}

    @classmethod
    def from_dict(cls, state: dict) -> CharTokenizer:
        """The tokenizer of a checkpoint (from before `spoken_form` existed: without it)."""
        if state.get("type") != "char":
            raise ValueError(f"unknown tokenizer type {state.get('type')!r}")
        return cls(state["alphabet"], state.get("spoken_form", False))

"""Numbers as they are spoken: the speller of the synthetic corpus's sentences and of transcript
normalisation (`text.spoken_form`), one rule for both, so that a model trained on the corpus
hears "one hundred and five" for what a manifest writes as 105."""

from __future__ import annotations

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_to_words(n: int) -> str:
    """0 <= n < 10000 in words, British style ("one hundred and five")."""
    if not 0 <= n < 10000:
        raise ValueError(f"{n} is out of range 0..9999")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_to_words(rest))
    rest = n % 1000
    joiner = " and " if 0 < rest < 100 else " "
    return _ONES[n // 1000] + " thousand" + ("" if rest == 0 else joiner + number_to_words(rest))


_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def ordinal_to_words(n: int) -> str:
    """0 <= n < 10000 as an ordinal ("twenty first", "one hundred and third")."""
    *head, last = number_to_words(n).split(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])

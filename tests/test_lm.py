"""The n-gram estimator against hand-computed probabilities, and the ARPA reader's errors."""

import json
import logging
import random
from pathlib import Path

import pytest

from asr.data.manifest import OnError
from asr.lm import BOS, UNK, LanguageModelError, _discounts, estimate, read_arpa, read_sentences, write_arpa
from asr.text import CharTokenizer

# Three times "a b", once "a b a", once "b b". Every count of counts has a gap, so every order takes
# the fallback discounts D(1) = 0.5, D(2) = 1, D(3+) = 1.5.
TOY = [s.split() for s in ["a b"] * 3 + ["a b a", "b b"]]

# Unigrams: continuation counts a 2 ({<s>, b}), b 3 ({a, <s>, b}), </s> 2 ({b, a}); total 7, discounts
# 1 + 1.5 + 1 = 3.5, so gamma = 0.5, spread uniformly over {a, b, </s>, <unk>}.
P1 = {"a": (2 - 1) / 7 + 0.5 / 4, "b": (3 - 1.5) / 7 + 0.5 / 4, "</s>": (2 - 1) / 7 + 0.5 / 4, UNK: 0.5 / 4}
# Bigrams: after <s>, raw counts (a 4, b 1; gamma (1.5 + 0.5) / 5); after a and b, continuation counts
# (a: b 1 and </s> 1, gamma 0.5; b: </s> 2 ({a, b}), a 1, b 1, gamma (1 + 0.5 + 0.5) / 4).
P2 = {
    ("<s>", "a"): (4 - 1.5) / 5 + 0.4 * P1["a"],
    ("<s>", "b"): (1 - 0.5) / 5 + 0.4 * P1["b"],
    ("a", "b"): (1 - 0.5) / 2 + 0.5 * P1["b"],
    ("a", "</s>"): (1 - 0.5) / 2 + 0.5 * P1["</s>"],
    ("b", "</s>"): (2 - 1) / 4 + 0.5 * P1["</s>"],
    ("b", "a"): (1 - 0.5) / 4 + 0.5 * P1["a"],
    ("b", "b"): (1 - 0.5) / 4 + 0.5 * P1["b"],
}
# Trigrams: raw counts. After "<s> a": b 4 (gamma 1.5 / 4); after "a b": </s> 3, a 1 (gamma 2 / 4).
P3 = {
    ("<s>", "a", "b"): (4 - 1.5) / 4 + 0.375 * P2[("a", "b")],
    ("a", "b", "</s>"): (3 - 1.5) / 4 + 0.5 * P2[("b", "</s>")],
    ("a", "b", "a"): (1 - 0.5) / 4 + 0.5 * P2[("b", "a")],
    ("b", "a", "</s>"): (1 - 0.5) / 1 + 0.5 * P2[("a", "</s>")],
    ("<s>", "b", "b"): (1 - 0.5) / 1 + 0.5 * P2[("b", "b")],
    ("b", "b", "</s>"): (1 - 0.5) / 1 + 0.5 * P2[("b", "</s>")],
}


def prob(model, *gram: str) -> float:
    return 10 ** model.log10_prob(gram[:-1], gram[-1])


def test_kneser_ney_matches_hand_computed_probabilities() -> None:
    model = estimate(TOY, order=3)
    for table in (P3, P2, {(w,): p for w, p in P1.items()}):
        for gram, expected in table.items():
            assert prob(model, *gram) == pytest.approx(expected, rel=1e-9), gram
    assert sum(P1.values()) == pytest.approx(1.0)


def test_unseen_ngrams_back_off_with_the_interpolation_weights() -> None:
    model = estimate(TOY, order=3)
    # "<s> a a": no trigram, no bigram "a a": gamma("<s> a") * gamma("a") * p(a)
    assert prob(model, "<s>", "a", "a") == pytest.approx(0.375 * 0.5 * P1["a"])
    # an unknown word is <unk>: gamma("a b") * gamma("b") * p(<unk>)
    assert prob(model, "a", "b", "zebra") == pytest.approx(0.5 * 0.5 * P1[UNK])


def test_discounts_follow_chen_and_goodman() -> None:
    counts = [1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9]
    y = 10 / (10 + 2 * 5)
    assert _discounts(counts, 2) == pytest.approx((1 - 2 * y * 5 / 10, 2 - 3 * y * 3 / 5, 3 - 4 * y * 2 / 3))
    assert _discounts([1, 1, 2, 2], 2) == (0.5, 1.0, 1.5)  # no counts of 3 or 4: the fallback


def test_every_context_is_a_probability_distribution(caplog: pytest.LogCaptureFixture) -> None:
    """With estimated discounts (a corpus large enough), each p(. | h) sums to one over the vocabulary."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(30)]
    weights = [1 / (i + 1) for i in range(30)]
    corpus = [rng.choices(words, weights=weights, k=rng.randint(1, 8)) for _ in range(400)]
    with caplog.at_level(logging.INFO, logger="asr.lm"):
        model = estimate(corpus, order=3)
    assert "order 2" not in caplog.text and "order 3" not in caplog.text  # estimated, not the fallback
    vocabulary = sorted(model.vocabulary)
    contexts = {gram[:-1] for gram in model.logprobs[2]} | {gram[:-1] for gram in model.logprobs[1]}
    contexts |= {("w3", "w29"), ("nothing",), ()}  # unseen contexts back off
    for context in contexts:
        total = sum(10 ** model.log10_prob(context, w) for w in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-9), context
    assert BOS not in vocabulary and UNK in vocabulary


def test_arpa_round_trip_keeps_every_probability(tmp_path: Path) -> None:
    model = estimate(TOY, order=3)
    path = write_arpa(model, tmp_path / "lm.arpa")
    text = path.read_text()
    assert text.startswith("\\data\\\nngram 1=5\nngram 2=7\nngram 3=6\n") and text.rstrip().endswith(
        "\\end\\"
    )
    again = read_arpa(path)
    for context, word in [((), "a"), (("<s>", "a"), "b"), (("a", "b"), "zebra"), (("b",), "b")]:
        assert again.log10_prob(context, word) == pytest.approx(model.log10_prob(context, word), abs=1e-6)
    assert write_arpa(again, tmp_path / "again.arpa").read_text() == text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("not an lm\n", r":1: expected \\data\\"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n-0.5\tb\n", r"no \\end\\"),
        (
            "\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\ta\n-0.5\tb\n\\end\\\n",
            "announces 3 1-grams, the file has 2",
        ),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\nminus\tb\n\\end\\\n", ":6: a number cannot be read"),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\ta b c d\n\\end\\\n", ":5: a 1-gram line needs"),
        ("\\data\\\nngram 1=1\n\n\\2-grams:\n-1.0\ta b\n\\end\\\n", ":4: section"),
    ],
)
def test_a_garbled_lm_is_a_named_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.arpa"
    path.write_text(content)
    with pytest.raises(LanguageModelError, match=message) as err:
        read_arpa(path)
    assert str(path) in str(err.value)


def test_missing_or_binary_lm_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(LanguageModelError, match="does not exist"):
        read_arpa(tmp_path / "none.arpa")
    binary = tmp_path / "lm.bin"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(LanguageModelError, match="not UTF-8"):
        read_arpa(binary)


def test_sentences_are_normalised_as_the_tokenizer_normalises(tmp_path: Path) -> None:
    manifest = tmp_path / "train.jsonl"
    rows = [
        {"audio_filepath": "x.wav", "duration": 1, "text": "Turn  ON the Lights"},
        {"text": "Caf\u00e9\u2019s open"},
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert read_sentences(manifest, CharTokenizer()) == [["turn", "on", "the", "lights"], ["cafe's", "open"]]
    text = tmp_path / "corpus.txt"
    text.write_text("Hello World\ncall 911\nbye\n")
    with pytest.raises(ValueError, match=r"corpus.txt:2: .*\['1', '9'\]"):
        read_sentences(text, CharTokenizer())
    assert read_sentences(text, CharTokenizer(), on_error=OnError.SKIP) == [["hello", "world"], ["bye"]]

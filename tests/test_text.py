import pytest

from asr.text import CharTokenizer, normalize_text


def test_normalize_lowercases_unifies_apostrophes_and_spaces() -> None:
    assert normalize_text("  What\u2019s   the Weather\tin Zürich ") == "what's the weather in zurich"


def test_tokenizer_round_trip_and_blank_at_zero() -> None:
    tok = CharTokenizer()
    text = "what's the time in boston"
    ids = tok.encode(text)
    assert 0 not in ids and tok.blank_id == 0
    assert tok.decode(ids) == text
    assert tok.vocab_size == 29
    assert CharTokenizer.from_dict(tok.to_dict()).encode(text) == ids


def test_tokenizer_rejects_characters_outside_vocabulary() -> None:
    with pytest.raises(ValueError, match=r"\['7'\]"):
        CharTokenizer().encode("call 7")


def test_decode_drops_blank() -> None:
    tok = CharTokenizer()
    assert tok.decode([0, *tok.encode("hi"), 0]) == "hi"


def test_spoken_form_examples_in_its_docstring_hold() -> None:
    import doctest

    import asr.text

    finder = doctest.DocTestFinder()
    (test,) = [t for t in finder.find(asr.text) if t.name.endswith("spoken_form")]
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.attempted >= 7 and result.failed == 0


@pytest.mark.parametrize(
    "n, words",
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty first"),
        (105, "one hundred and fifth"),
        (1000, "one thousandth"),
    ],
)
def test_ordinals(n: int, words: str) -> None:
    from asr.numbers import ordinal_to_words

    assert ordinal_to_words(n) == words


def test_spoken_form_is_off_by_default_and_its_refusal_names_the_switch() -> None:
    raw = "Set a timer, for FIFTY-eight minutes!"
    with pytest.raises(ValueError, match=r"outside the vocabulary.*data\.text\.normalize=true"):
        CharTokenizer().normalize(raw)
    spoken = CharTokenizer(spoken_form=True)
    assert spoken.normalize(raw) == "set a timer for fifty eight minutes"
    with pytest.raises(ValueError, match=r"38,000,000'.*\[',', '0', '3', '8'\]"):
        spoken.normalize("Population 38,000,000")
    assert CharTokenizer.from_dict(spoken.to_dict()).spoken_form
    assert not CharTokenizer.from_dict({"type": "char", "alphabet": "ab "}).spoken_form, "older checkpoints"

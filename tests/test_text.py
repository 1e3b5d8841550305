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

"""CTC search invariants: beam 1 is greedy, a lexicon is never left, the LM and lexicon correct what
the acoustics alone get wrong."""

import itertools

import numpy as np
import pytest
import torch

from asr import decoding
from asr.decoding import BeamSearchDecoder, BeamSettings, GreedyDecoder
from asr.lm import estimate
from asr.text import CharTokenizer

TOK = CharTokenizer()
WIDE = BeamSettings(beam_size=32, beam_threshold=12.0, lm_weight=0.0, word_score=0.0)


def emissions(*frames: str | dict[str, float]) -> np.ndarray:
    """(T, vocab) log-probabilities: a frame is a character ("-" for blank) at probability 0.9, or a
    {character: probability} dict; the rest of each frame's mass is spread over the other tokens."""
    symbols = ["-", *TOK.alphabet]
    rows = []
    for frame in frames:
        probs = {frame: 0.9} if isinstance(frame, str) else frame
        rest = (1 - sum(probs.values())) / (len(symbols) - len(probs))
        rows.append([probs.get(s, rest) for s in symbols])
    return np.log(np.array(rows, dtype=np.float32))


def spell(text: str) -> list[str]:
    """Frames spelling `text`: each character once, a blank after every character."""
    return [f for c in text for f in (c, "-")]


def random_emissions(seed: int, frames: int = 80, peaky: bool = True) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(frames, TOK.vocab_size, generator=g) * (4.0 if peaky else 1.0)
    return torch.log_softmax(logits, dim=-1).numpy()


@pytest.mark.parametrize("peaky", [True, False])
def test_beam_of_one_without_lm_is_greedy(peaky: bool) -> None:
    greedy = GreedyDecoder(TOK)
    beam = BeamSearchDecoder(TOK, BeamSettings(1, 12.0, 0.0, 0.0))
    for seed in range(30):
        log_probs = random_emissions(seed, peaky=peaky)
        assert beam.decode(log_probs) == " ".join(greedy.decode(log_probs).split()), seed


def test_a_wide_beam_finds_the_text_of_the_most_likely_single_path() -> None:
    """Paths into one text are merged by their maximum (Viterbi), not their sum: checked against every
    path of short emissions over blank, "a" and "b", where the two rules often disagree."""
    beam = BeamSearchDecoder(TOK, BeamSettings(1000, 50.0, 0.0, 0.0))
    active = [0, TOK.encode("a")[0], TOK.encode("b")[0]]
    disagreements = 0
    for seed in range(40):
        g = torch.Generator().manual_seed(seed)
        log_probs = np.full((5, TOK.vocab_size), -1e4, dtype=np.float32)
        log_probs[:, active] = torch.log_softmax(torch.randn(5, 3, generator=g), dim=-1).numpy()
        best_path: dict[str, float] = {}
        total: dict[str, float] = {}
        for path in itertools.product(active, repeat=5):
            text = TOK.decode([t for t, _ in itertools.groupby(path) if t != 0])
            score = float(sum(log_probs[t, token] for t, token in enumerate(path)))
            best_path[text] = max(best_path.get(text, -np.inf), score)
            total[text] = float(np.logaddexp(total.get(text, -np.inf), score))
        assert beam.decode(log_probs) == max(best_path, key=best_path.get), seed
        disagreements += max(best_path, key=best_path.get) != max(total, key=total.get)
    assert disagreements > 0  # the emissions do tell the two rules apart


def test_greedy_decode_uses_the_blank_it_is_given() -> None:
    log_probs = emissions("a", "-", "a", "b", "b")
    assert decoding.best_path(log_probs, blank=0) == [3, 3, 4]
    assert decoding.best_path(log_probs, blank=3) == [0, 4]  # "a" as the blank


def test_lexicon_beam_never_spells_a_word_outside_the_lexicon() -> None:
    lexicon = ["on", "off", "the", "light", "lights", "a"]
    lm = estimate([s.split() for s in ["turn on the light", "the lights off", "a light"]], order=2)
    for settings in (WIDE, BeamSettings(4, 6.0, 1.0, 1.0)):
        beam = BeamSearchDecoder(TOK, settings, lexicon=lexicon, lm=lm if settings.lm_weight else None)
        for seed in range(20):
            words = beam.decode(random_emissions(seed, frames=40)).split()
            assert set(words) <= set(lexicon), (seed, words)


def test_lexicon_turns_a_misspelling_into_the_nearest_word() -> None:
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    zerx = emissions(*spell("zer"), {"x": 0.5, "o": 0.4}, "-")
    assert GreedyDecoder(TOK).decode(zerx) == "zerx"
    assert BeamSearchDecoder(TOK, WIDE).decode(zerx) == "zerx"
    assert BeamSearchDecoder(TOK, WIDE, lexicon=digits).decode(zerx) == "zero"


@pytest.mark.parametrize("lexicon", [None, ["the", "cat", "cot", "a"]], ids=["lexicon-free", "lexicon"])
def test_the_language_model_overrules_weak_acoustic_evidence(lexicon: list[str] | None) -> None:
    lm = estimate([["the", "cat"]] * 5 + [["a", "cot"]], order=2)
    the_cot = emissions(*spell("the "), "c", "-", {"o": 0.5, "a": 0.4}, "-", "t", "-")
    without = BeamSearchDecoder(TOK, WIDE, lexicon=lexicon, lm=lm)
    with_lm = BeamSearchDecoder(TOK, BeamSettings(32, 12.0, 1.0, 0.0), lexicon=lexicon, lm=lm)
    assert without.decode(the_cot) == "the cot"
    assert with_lm.decode(the_cot) == "the cat"


def test_word_score_trades_insertions_against_deletions() -> None:
    """Two words or one: a space that the acoustics find as likely as not. A positive word score
    inserts the word boundary, a negative one removes it (lexicon-free, no LM)."""
    log_probs = emissions(*spell("some"), {" ": 0.45, "-": 0.45}, *spell("one"))
    assert BeamSearchDecoder(TOK, BeamSettings(32, 12.0, 0.0, 2.0)).decode(log_probs) == "some one"
    assert BeamSearchDecoder(TOK, BeamSettings(32, 12.0, 0.0, -2.0)).decode(log_probs) == "someone"


def test_lexicon_free_search_can_spell_a_word_the_lm_never_saw() -> None:
    lm = estimate([["call", "mom"], ["call", "dad"]], order=2)
    log_probs = emissions(*spell("call zoe"))
    assert BeamSearchDecoder(TOK, BeamSettings(32, 12.0, 0.5, 0.0), lm=lm).decode(log_probs) == "call zoe"


def test_batches_decode_each_utterance_within_its_length() -> None:
    beam = BeamSearchDecoder(TOK, WIDE, lexicon=["on", "off"])
    on, off = emissions(*spell("on")), emissions(*spell("off"))
    padded = np.full((2, len(off), TOK.vocab_size), np.log(1 / TOK.vocab_size), dtype=np.float32)
    padded[0, : len(on)], padded[1] = on, off
    assert beam(torch.from_numpy(padded), torch.tensor([len(on), len(off)])) == ["on", "off"]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="beam_size"):
        BeamSettings(0, 10.0, 1.0, 0.0)

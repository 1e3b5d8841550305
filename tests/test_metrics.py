"""Error counts: corpus-level rates and the split by vocabulary."""

import pytest

from asr.metrics import error_rates, outside_vocabulary


def test_errors_split_by_whether_the_reference_has_a_word_outside_the_vocabulary() -> None:
    references = ["turn on the lights", "open the door", "turn off"]
    hypotheses = ["turn on the light", "hop in the do", "turn off"]
    split = outside_vocabulary(references, hypotheses, {"turn", "on", "off", "the", "lights"})
    # "open the door" has two words outside; its errors: open -> hop, "in" inserted, door -> do
    assert split["outside"] == {"utterances": 1, "words": 3, "errors": 3}
    assert split["inside"] == {"utterances": 2, "words": 6, "errors": 1}
    wer, _ = error_rates(references, hypotheses)
    assert wer == pytest.approx((3 + 1) / 9)

from itertools import pairwise

import pytest

from asr.module import warmup_cosine


def test_warmup_then_cosine_down_to_floor() -> None:
    lrs = [warmup_cosine(step, warmup=10, total=110, floor=0.05) for step in range(120)]
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[9] == pytest.approx(1.0)
    assert all(a <= b for a, b in pairwise(lrs[:10]))
    assert all(a >= b for a, b in pairwise(lrs[10:]))
    assert lrs[60] == pytest.approx(0.525)
    assert lrs[110] == pytest.approx(0.05) and lrs[119] == pytest.approx(0.05)

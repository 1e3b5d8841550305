import math

import pytest
import torch

from asr.data.perturb import WavePerturbation


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_length_by_the_factor(factor: float) -> None:
    wave = torch.sin(torch.arange(16000) * 2 * math.pi * 440 / 16000)
    out = WavePerturbation(speeds=[factor])(wave, 16000)
    assert len(out) == pytest.approx(16000 / factor, abs=2)


def test_noise_is_added_at_the_requested_snr() -> None:
    wave = torch.sin(torch.arange(64000) * 2 * math.pi * 300 / 16000)
    out = WavePerturbation(noise_snr_db=[20, 20])(wave, 16000)
    snr = 10 * torch.log10(wave.pow(2).mean() / (out - wave).pow(2).mean())
    assert snr.item() == pytest.approx(20, abs=0.3)


def test_nothing_configured_is_the_identity() -> None:
    wave = torch.randn(1000)
    assert torch.equal(WavePerturbation()(wave, 16000), wave)


@pytest.mark.parametrize(("speeds", "snr"), [([3.0], None), (None, [30, 10]), (None, [10])])
def test_bad_settings_are_refused(speeds: list | None, snr: list | None) -> None:
    with pytest.raises(ValueError):
        WavePerturbation(speeds, snr)


def test_silence_pad_adds_up_to_its_length_of_silence_on_each_side() -> None:
    wave = torch.ones(1000)
    torch.manual_seed(3)
    lengths = set()
    for _ in range(20):
        out = WavePerturbation(silence_seconds=0.5)(wave, 16000)
        nonzero = torch.nonzero(out).flatten()
        before, after = int(nonzero[0]), len(out) - 1 - int(nonzero[-1])
        assert 0 <= before < 8000 and 0 <= after < 8000
        assert torch.equal(out[before : before + 1000], wave)
        lengths.add(len(out))
    assert len(lengths) > 10  # drawn anew each time

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


def _gain_db(impulse: torch.Tensor, hz: float, sample_rate: int) -> float:
    """The FIR's gain at `hz`, from its discrete-time Fourier transform."""
    spectrum = torch.fft.rfft(impulse.double(), n=8192).abs()
    return 20 * math.log10(float(spectrum[round(hz / sample_rate * 8192)]))


def test_channel_eq_stays_within_its_gain_and_is_not_flat() -> None:
    perturb = WavePerturbation(channel_eq_db=10)
    generator = torch.Generator().manual_seed(0)
    extremes = []
    for _ in range(20):
        impulse = perturb.equaliser(16000, generator)
        gains = [_gain_db(impulse, hz, 16000) for hz in range(50, 8000, 50)]
        assert max(abs(g) for g in gains) <= 10.0
        extremes.append(max(gains) - min(gains))
    assert max(extremes) > 6  # boosts and cuts of several dB, not a flat response


@pytest.mark.parametrize("hz", [200.0, 1000.0, 3000.0])
def test_channel_eq_scales_a_tone_by_its_gain_without_delaying_it(hz: float) -> None:
    wave = torch.sin(torch.arange(8000) * 2 * math.pi * hz / 8000)
    out = WavePerturbation(channel_eq_db=12)(wave, 8000, torch.Generator().manual_seed(1))
    impulse = WavePerturbation(channel_eq_db=12).equaliser(8000, torch.Generator().manual_seed(1))
    gain = 10 ** (_gain_db(impulse, hz, 8000) / 20)
    assert len(out) == len(wave)
    assert torch.allclose(out[300:-300], gain * wave[300:-300], atol=5e-3)


def test_negative_channel_eq_is_refused() -> None:
    with pytest.raises(ValueError, match="channel_eq_db"):
        WavePerturbation(channel_eq_db=-3)

import math

import pytest
import torch

from asr.data.perturb import REVERB_DRR_DB, WavePerturbation, seeded


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_length_by_the_factor(factor: float) -> None:
    wave = torch.sin(torch.arange(16000) * 2 * math.pi * 440 / 16000)
    out = WavePerturbation(speed_perturb=[factor])(wave, 16000)
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
        out = WavePerturbation(silence_pad=0.5)(wave, 16000)
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


def _energy_db(wave: torch.Tensor) -> float:
    return 10 * math.log10(float(wave.double().pow(2).mean()))


def test_reverb_keeps_the_direct_sound_in_place_and_decays_at_the_drawn_rt60() -> None:
    """An impulse becomes itself, undelayed, then a tail that loses 60 dB per reverberation time,
    at a direct-to-reverberant ratio within `REVERB_DRR_DB`."""
    rate = 8000
    wave = torch.zeros(2 * rate)
    wave[800] = 1.0
    out = WavePerturbation(reverb_rt60=[0.5, 0.5])(wave, rate, torch.Generator().manual_seed(0))
    assert len(out) == len(wave) and float(out[800]) == pytest.approx(1.0)
    assert out[:800].abs().max() < 1e-5  # nothing before the sound: the room is causal
    tail = out[801:]
    drr = -10 * math.log10(float(tail.double().pow(2).sum()))
    assert REVERB_DRR_DB[0] - 0.01 <= drr <= REVERB_DRR_DB[1] + 0.01
    early, late = tail[400:800], tail[2400:2800]  # 50-100 ms and 300-350 ms after the sound
    assert _energy_db(early) - _energy_db(late) == pytest.approx(60 * 0.25 / 0.5, abs=3)


def test_lowpass_passes_below_its_cutoff_and_stops_above() -> None:
    rate = 8000
    t = torch.arange(4 * rate) / rate
    perturb = WavePerturbation(lowpass_hz=[2000, 2500])
    generator = torch.Generator().manual_seed(0)
    low = torch.sin(2 * math.pi * 500 * t)
    high = torch.sin(2 * math.pi * 3500 * t)
    middle = slice(rate, 3 * rate)  # away from the filter's edges
    passed = perturb(low, rate, generator)[middle]
    stopped = perturb(high, rate, generator)[middle]
    assert _energy_db(passed) - _energy_db(low[middle]) == pytest.approx(0, abs=0.5)
    assert _energy_db(stopped) - _energy_db(high[middle]) < -40


def test_lowpass_above_the_nyquist_frequency_leaves_the_wave_alone() -> None:
    wave = torch.randn(4000)
    assert torch.equal(WavePerturbation(lowpass_hz=[5000, 6000])(wave, 8000), wave)


@pytest.mark.parametrize(
    "settings",
    [
        {"reverb_rt60": [0.6, 0.1]},
        {"reverb_rt60": [0, 0.5]},
        {"lowpass_hz": [3000]},
        {"lowpass_hz": [-1, 3000]},
    ],
)
def test_bad_reverb_and_lowpass_settings_are_refused_naming_the_key(settings: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(settings))):
        WavePerturbation(**settings)


def test_data_settings_make_one_perturbation_or_none() -> None:
    off = {"speed_perturb": None, "noise_snr_db": None, "silence_pad": None, "channel_eq_db": None}
    assert WavePerturbation.from_settings(off | {"reverb_rt60": None, "lowpass_hz": None}) is None
    perturb = WavePerturbation.from_settings(off | {"lowpass_hz": [3000, 3000], "batch_seconds": 60})
    assert perturb is not None and perturb.cutoff == (3000.0, 3000.0)


@pytest.mark.parametrize("seed", range(6))
def test_seconds_foretells_the_length_of_the_perturbed_waveform(seed: int) -> None:
    perturb = WavePerturbation(speed_perturb=[0.9, 1.0, 1.1, 1.2], silence_pad=0.25, noise_snr_db=[15, 40])
    wave = torch.randn(23456)
    out = perturb(wave, 16000, seeded(seed))
    assert perturb.seconds(len(wave) / 16000, seed, 16000) * 16000 == pytest.approx(len(out), abs=1)


def test_only_speed_and_silence_retime() -> None:
    assert WavePerturbation(speed_perturb=[0.9, 1.1]).retimes
    assert WavePerturbation(silence_pad=0.1).retimes
    assert not WavePerturbation(speed_perturb=[1.0], noise_snr_db=[10, 20], channel_eq_db=6).retimes

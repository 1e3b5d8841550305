"""Waveform perturbation in the DataLoader workers, for training only.

Speed perturbation resamples the waveform as if it had been recorded at `factor` times the
sample rate: tempo and pitch change together, as in Kaldi's recipes. It has to happen on the
waveform, before the device computes features, so it belongs in the workers. Silence padding
adds up to `silence_pad` seconds of silence before and after each utterance (drawn per side): a
corpus whose utterances all start and end the same way (eSpeak NG's, 50 ms) otherwise teaches the
model that speech begins 50 ms in, and a recording with a longer lead-in, or a segment of a long
one, then loses its first words. A channel equaliser filters each utterance through a random
smooth frequency response: microphones and rooms colour the spectrum, and a model trained on a
few recordings' colouring learns it as part of the words (FSDD's speakers' average spectra lie
16 dB apart in the lowest mel band, `benchmarks/speaker_spectra.py`). Reverberation puts the
talker in a simulated room (a direct path and an exponentially decaying noise tail whose
reverberation time is drawn per utterance): recordings made away from a close microphone carry
their room. A low-pass filter with a cutoff drawn per utterance band-limits the channel as
telephones, codecs and cheap microphones do (FSDD's speakers' recordings differ most above
2.9 kHz). Additive noise, applied last so it covers the padding too, is Gaussian at a
signal-to-noise ratio drawn per utterance from a range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchaudio.functional as AF

EQ_COSINES = 4  # the equaliser's gain curve: this many cosines over the mel scale, so a few broad bumps
EQ_TAPS = 257  # linear-phase FIR: resolves those bumps at 8-16 kHz, and delays nothing once centred
LOWPASS_TAPS = 129  # windowed sinc: a transition band of about 4% of the sample rate
REVERB_DRR_DB = (0.0, 12.0)  # direct-to-reverberant ratio: a talker within a metre of the microphone
REVERB_ONSET_MS = 2.5  # the first reflection's delay after the direct sound
WAVE_KEYS = ("speed_perturb", "noise_snr_db", "silence_pad", "channel_eq_db", "reverb_rt60", "lowpass_hz")


def _range(values: Sequence[float] | None, name: str, example: str) -> tuple[float, float] | None:
    """A [low, high] setting of positive values, refused unless it is one."""
    if values is None:
        return None
    pair = tuple(float(x) for x in values)
    if len(pair) != 2 or not 0 < pair[0] <= pair[1]:
        raise ValueError(f"{name} must be [low, high], both positive, e.g. {example}, not {list(values)}")
    return pair


def seeded(seed: int) -> torch.Generator:
    """The generator an utterance's perturbation draws from, given its `sampler.Draw` seed: one
    construction, shared by the worker that perturbs and by `WavePerturbation.seconds`, which
    must replay the same first draws."""
    return torch.Generator().manual_seed(seed)


def _uniform(bounds: tuple[float, float], generator: torch.Generator | None) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand((), generator=generator))


class WavePerturbation:
    """The data config's waveform settings (`WAVE_KEYS`, each off when null), validated once."""

    def __init__(
        self,
        speed_perturb: Sequence[float] | None = None,
        noise_snr_db: Sequence[float] | None = None,
        silence_pad: float | None = None,
        channel_eq_db: float | None = None,
        reverb_rt60: Sequence[float] | None = None,
        lowpass_hz: Sequence[float] | None = None,
    ) -> None:
        self.speeds = [float(s) for s in speed_perturb] if speed_perturb else []
        if any(not 0.5 <= s <= 2.0 for s in self.speeds):
            raise ValueError(f"speed factors {self.speeds} must lie between 0.5 and 2.0")
        self.snr = tuple(float(x) for x in noise_snr_db) if noise_snr_db else None
        if self.snr is not None and (len(self.snr) != 2 or self.snr[0] > self.snr[1]):
            raise ValueError(f"noise_snr_db must be [low, high] in dB, not {list(noise_snr_db)}")
        self.silence = float(silence_pad or 0.0)
        if self.silence < 0:
            raise ValueError(f"silence_pad {silence_pad} must be a non-negative number of seconds")
        self.eq_db = float(channel_eq_db or 0.0)
        if self.eq_db < 0:
            raise ValueError(f"channel_eq_db {channel_eq_db} must be a non-negative gain in dB, e.g. 10")
        self.rt60 = _range(reverb_rt60, "reverb_rt60", "[0.1, 0.6] seconds")
        self.cutoff = _range(lowpass_hz, "lowpass_hz", "[2500, 4000] Hz")

    @classmethod
    def from_settings(cls, settings: dict) -> WavePerturbation | None:
        """From a data config's `WAVE_KEYS`; None when every one of them is off."""
        values = {key: settings.get(key) for key in WAVE_KEYS}
        return cls(**values) if any(values.values()) else None

    @property
    def retimes(self) -> bool:
        """Whether it changes an utterance's length (speed perturbation or silence padding)."""
        return any(s != 1.0 for s in self.speeds) or self.silence > 0

    @property
    def fastest(self) -> float:
        """The largest speed factor: the one that shortens audio most."""
        return max(self.speeds, default=1.0)

    def __call__(
        self, wave: torch.Tensor, sample_rate: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Perturb `wave`; every random draw comes from `generator` (seeded per utterance and epoch
        in training, see `sampler.Draw`), the global generator when none is given."""
        factor, before, after = self._timing(sample_rate, generator)
        if factor != 1.0:
            wave = AF.resample(wave, round(sample_rate * factor), sample_rate)
        if before or after:
            wave = torch.nn.functional.pad(wave, (before, after))
        if self.rt60 is not None:
            room = self.room(sample_rate, generator)
            wave = AF.fftconvolve(wave, room)[: len(wave)]
        if self.eq_db:
            wave = AF.fftconvolve(wave, self.equaliser(sample_rate, generator), mode="same")
        if self.cutoff is not None:
            cutoff = _uniform(self.cutoff, generator)
            if cutoff < sample_rate / 2:
                wave = AF.fftconvolve(wave, lowpass(cutoff, sample_rate), mode="same")
        if self.snr is not None:
            snr_db = _uniform(self.snr, generator)
            power = wave.pow(2).mean().clamp_min(1e-10)
            noise = torch.randn(wave.shape, generator=generator, dtype=wave.dtype)
            wave = wave + noise * (power / 10 ** (snr_db / 10)).sqrt()
        return wave

    def _timing(self, sample_rate: int, generator: torch.Generator | None) -> tuple[float, int, int]:
        """The speed factor and the silence before and after (samples): the generator's first
        draws, so `seconds` can know an utterance's length before its waveform is read."""
        factor = 1.0
        if self.speeds:
            factor = self.speeds[int(torch.randint(len(self.speeds), (), generator=generator))]
        before = after = 0
        if self.silence:
            before, after = (torch.rand(2, generator=generator) * self.silence * sample_rate).long().tolist()
        return factor, before, after

    def seconds(self, duration: float, seed: int, sample_rate: int) -> float:
        """How long an utterance of `duration` seconds will be once perturbed from `seed` (the
        `sampler.Draw` seed its worker will use): what training batches are cut by, so a batch's
        padding is what the perturbed waveforms leave, not what their recordings would."""
        factor, before, after = self._timing(sample_rate, seeded(seed))
        return duration * sample_rate / round(sample_rate * factor) + (before + after) / sample_rate

    def equaliser(self, sample_rate: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A linear-phase FIR whose gain in dB is a random sum of cosines over the mel scale, scaled
        so that its largest boost or cut is drawn uniformly from [0, channel_eq_db]."""
        bins = torch.linspace(0, sample_rate / 2, EQ_TAPS // 2 + 1, dtype=torch.float64)
        mel = torch.log1p(bins / 700.0)
        position = mel / mel[-1]
        weights = 2 * torch.rand(EQ_COSINES, generator=generator, dtype=torch.float64) - 1
        orders = torch.arange(1, EQ_COSINES + 1, dtype=torch.float64)
        curve = (weights[:, None] * torch.cos(torch.pi * orders[:, None] * position)).sum(0)
        depth = self.eq_db * float(torch.rand((), generator=generator))
        curve = curve * depth / curve.abs().max().clamp_min(1e-9)
        impulse = torch.fft.irfft(10 ** (curve / 20), n=EQ_TAPS - 1)
        impulse = torch.roll(impulse, EQ_TAPS // 2)
        # Centred and made symmetric (lag -128 repeated as +128): linear phase, EQ_TAPS // 2 samples
        # of delay that `fftconvolve(mode="same")` takes back off.
        window = torch.hann_window(EQ_TAPS, periodic=False, dtype=torch.float64)
        impulse = torch.cat([impulse, impulse[:1]]) * window
        return impulse.float()

    def room(self, sample_rate: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A room's impulse response: the direct sound (1 at lag 0, so nothing is delayed) and a
        Gaussian tail decaying by 60 dB over a reverberation time drawn from `reverb_rt60`, scaled
        to a direct-to-reverberant ratio drawn from `REVERB_DRR_DB`."""
        rt60 = _uniform(self.rt60, generator)
        drr_db = _uniform(REVERB_DRR_DB, generator)
        onset = max(1, round(REVERB_ONSET_MS / 1000 * sample_rate))
        times = (
            torch.arange(onset, max(onset + 1, round(rt60 * sample_rate)), dtype=torch.float64) / sample_rate
        )
        tail = torch.randn(len(times), generator=generator, dtype=torch.float64) * 10 ** (-3 * times / rt60)
        tail = tail * (10 ** (-drr_db / 10) / tail.pow(2).sum()).sqrt()
        impulse = torch.zeros(onset + len(tail), dtype=torch.float64)
        impulse[0] = 1.0
        impulse[onset:] = tail
        return impulse.float()


def lowpass(cutoff: float, sample_rate: int) -> torch.Tensor:
    """A linear-phase low-pass FIR (Hann-windowed sinc, unit gain at 0 Hz) at `cutoff` Hz."""
    lags = torch.arange(LOWPASS_TAPS, dtype=torch.float64) - LOWPASS_TAPS // 2
    impulse = torch.special.sinc(2 * cutoff / sample_rate * lags)
    impulse = impulse * torch.hann_window(LOWPASS_TAPS, periodic=False, dtype=torch.float64)
    return (impulse / impulse.sum()).float()

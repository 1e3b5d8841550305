"""Waveform perturbation in the DataLoader workers, for training only.

Speed perturbation resamples the waveform as if it had been recorded at `factor` times the
sample rate: tempo and pitch change together, as in Kaldi's recipes. It has to happen on the
waveform, before the device computes features, so it belongs in the workers. Silence padding
adds up to `silence_seconds` of silence before and after each utterance (drawn per side): a
corpus whose utterances all start and end the same way (eSpeak NG's, 50 ms) otherwise teaches the
model that speech begins 50 ms in, and a recording with a longer lead-in, or a segment of a long
one, then loses its first words. A channel equaliser filters each utterance through a random
smooth frequency response: microphones and rooms colour the spectrum, and a model trained on a
few recordings' colouring learns it as part of the words (FSDD's speakers' average spectra lie
16 dB apart in the lowest mel band, `benchmarks/speaker_spectra.py`). Additive noise, applied
last so it covers the padding too, is Gaussian at a signal-to-noise ratio drawn per utterance
from a range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchaudio.functional as AF

EQ_COSINES = 4  # the equaliser's gain curve: this many cosines over the mel scale, so a few broad bumps
EQ_TAPS = 257  # linear-phase FIR: resolves those bumps at 8-16 kHz, and delays nothing once centred


class WavePerturbation:
    def __init__(
        self,
        speeds: Sequence[float] | None = None,
        noise_snr_db: Sequence[float] | None = None,
        silence_seconds: float | None = None,
        channel_eq_db: float | None = None,
    ) -> None:
        self.speeds = [float(s) for s in speeds] if speeds else []
        if any(not 0.5 <= s <= 2.0 for s in self.speeds):
            raise ValueError(f"speed factors {self.speeds} must lie between 0.5 and 2.0")
        self.snr = tuple(float(x) for x in noise_snr_db) if noise_snr_db else None
        if self.snr is not None and (len(self.snr) != 2 or self.snr[0] > self.snr[1]):
            raise ValueError(f"noise_snr_db must be [low, high] in dB, not {list(noise_snr_db)}")
        self.silence = float(silence_seconds or 0.0)
        if self.silence < 0:
            raise ValueError(f"silence_pad {silence_seconds} must be a non-negative number of seconds")
        self.eq_db = float(channel_eq_db or 0.0)
        if self.eq_db < 0:
            raise ValueError(f"channel_eq_db {channel_eq_db} must be a non-negative gain in dB, e.g. 10")

    @property
    def fastest(self) -> float:
        """The largest speed factor: the one that shortens audio most."""
        return max(self.speeds, default=1.0)

    def __call__(
        self, wave: torch.Tensor, sample_rate: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Perturb `wave`; every random draw comes from `generator` (seeded per utterance and epoch
        in training, see `sampler.Draw`), the global generator when none is given."""
        if self.speeds:
            factor = self.speeds[int(torch.randint(len(self.speeds), (), generator=generator))]
            if factor != 1.0:
                wave = AF.resample(wave, round(sample_rate * factor), sample_rate)
        if self.silence:
            before, after = (torch.rand(2, generator=generator) * self.silence * sample_rate).long().tolist()
            wave = torch.nn.functional.pad(wave, (before, after))
        if self.eq_db:
            wave = AF.fftconvolve(wave, self.equaliser(sample_rate, generator), mode="same")
        if self.snr is not None:
            low, high = self.snr
            snr_db = low + (high - low) * float(torch.rand((), generator=generator))
            power = wave.pow(2).mean().clamp_min(1e-10)
            noise = torch.randn(wave.shape, generator=generator, dtype=wave.dtype)
            wave = wave + noise * (power / 10 ** (snr_db / 10)).sqrt()
        return wave

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

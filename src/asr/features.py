"""Log-mel features as an nn.Module, so they run on the batch on the model's device.

DataLoader workers only decode audio; computing features here keeps the CPU workers light
and lets the accelerator do the FFTs.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from asr.padding import length_mask

NORMALIZATIONS = ("per_bin", "utterance", "speaker")


class LogMel(nn.Module):
    """Waveforms (B, N) to per-utterance normalised log-mel frames (B, T, n_mels).

    Each utterance is normalised by its own mean and standard deviation per mel bin, over its own
    frames only: that removes most of the speaker's and channel's spectral tilt, which is what a
    model needs to generalise to voices it has not heard, and padding never enters the statistics.
    `normalize="utterance"` uses one mean and deviation over all bins instead: it keeps the
    utterance's average spectrum, which for a single short word carries much of its identity.
    `normalize="speaker"` normalises each utterance so, then subtracts its speaker's mean frame
    (`speaker_means`, from `asr.speakers`): the average over many of the speaker's utterances
    carries their voice and microphone and none of any one word, which per-bin statistics of a
    single short utterance cannot tell apart.
    Before that, power is floored `floor_db` below the utterance's peak: a band with no signal
    (above 4 kHz in 8 kHz recordings, digital silence) becomes constant and normalises to zero,
    instead of its leakage being stretched to unit variance as if it were speech.
    `cepstra=N` (0: off) keeps only each frame's first N cepstral coefficients (the DCT of its
    log-mel) and returns to mel bins: the spectral envelope, which carries the vowel, without the
    fine structure of a voice's pitch harmonics, which 80 bands resolve below 1 kHz and which tell
    speakers apart rather than words. The model's input keeps its n_mels dimensions.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        floor_db: float = 60.0,
        normalize: str = "per_bin",
        cepstra: int = 0,
    ) -> None:
        super().__init__()
        if normalize not in NORMALIZATIONS:
            raise ValueError(
                f"features.normalize must be one of {', '.join(NORMALIZATIONS)}, not {normalize!r}"
            )
        if not 0 <= cepstra <= n_mels:
            raise ValueError(
                f"features.cepstra must lie between 0 (off) and n_mels ({n_mels}), not {cepstra}"
            )
        self.register_buffer("smoothing", cepstral_smoothing(n_mels, cepstra), persistent=False)
        self.normalize = normalize
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.floor = 10 ** (-floor_db / 10)
        self.hop_length = round(sample_rate * hop_ms / 1000)
        win_length = round(sample_rate * win_ms / 1000)
        self.n_fft = 1 << (win_length - 1).bit_length()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=self.n_fft,
            win_length=win_length,
            hop_length=self.hop_length,
            n_mels=n_mels,
        )

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames per utterance for `lengths` samples (the transform pads centrally)."""
        return lengths // self.hop_length + 1

    @property
    def per_speaker(self) -> bool:
        """Whether `forward` needs each utterance's speaker mean."""
        return self.normalize == "speaker"

    def forward(
        self, waves: torch.Tensor, lengths: torch.Tensor, speaker_means: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, T, n_mels), zero past each utterance's frames, and the frame counts;
        `speaker_means` (B, n_mels): each utterance's speaker's mean frame of `frame_sums`'s
        features, what `normalize="speaker"` subtracts (and no other setting takes)."""
        if self.per_speaker != (speaker_means is not None):
            raise ValueError(
                "features.normalize=speaker needs each utterance's speaker means (asr.speakers), "
                f"and only it takes them: normalize is {self.normalize!r}, means "
                f"{'given' if speaker_means is not None else 'missing'}"
            )
        feats, frames, mask = self._normalised(waves, lengths)
        if speaker_means is not None:
            feats = (feats - speaker_means[:, None, :].to(feats)) * mask
        return feats, frames

    def frame_sums(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each utterance's normalised frames summed (B, n_mels), before any speaker mean is
        subtracted, and its frame count: what a speaker mean is pooled from."""
        feats, frames, _ = self._normalised(waves, lengths)
        return feats.sum(1), frames

    def _normalised(
        self, waves: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Samples past each length are zeroed and zeros appended, so that every utterance ends in
        silence whatever else is in its batch: its features are the same alone or batched."""
        frames = self.output_lengths(lengths)
        waves = nn.functional.pad(waves.float() * length_mask(lengths, waves.size(1)), (0, self.n_fft // 2))
        with torch.autocast(device_type=waves.device.type, enabled=False):
            spec = self.mel(waves)[..., : frames.max()]  # a tensor bound: traced exports keep it dynamic
            peak = spec.amax(dim=(1, 2), keepdim=True)
            spec = torch.maximum(spec, peak * self.floor).clamp_min(1e-10).log().transpose(1, 2)
            if self.smoothing is not None:
                spec = spec @ self.smoothing
        mask = length_mask(frames, spec.size(1)).unsqueeze(-1)
        # Statistics over the utterance's frames: per mel bin, or one pair over all bins.
        dims = (1,) if self.normalize == "per_bin" else (1, 2)
        count = frames.clamp_min(1).view(-1, 1, 1) * (1 if self.normalize == "per_bin" else spec.size(2))
        mean = (spec * mask).sum(dims, keepdim=True) / count
        var = (((spec - mean) * mask) ** 2).sum(dims, keepdim=True) / count
        return ((spec - mean) / (var + 1e-5).sqrt()) * mask, frames, mask


def cepstral_smoothing(n_mels: int, cepstra: int) -> torch.Tensor | None:
    """The (n_mels, n_mels) projection that keeps a log-mel frame's first `cepstra` orthonormal
    DCT-II coefficients (its lowest quefrencies) and transforms back; None for 0 or all of them."""
    if cepstra in (0, n_mels):
        return None
    bins = torch.arange(n_mels, dtype=torch.float64)
    dct = torch.cos(torch.pi / n_mels * (bins[None, :] + 0.5) * bins[:cepstra, None])
    dct[0] /= 2**0.5
    dct *= (2 / n_mels) ** 0.5
    return (dct.T @ dct).float()


class SpecAugment(nn.Module):
    """Frequency and time masks on normalised features, in training mode only.

    Time masks are sized as a fraction of each utterance's own length and placed inside it, so a
    short utterance is never wiped out and padding is never "masked" in place of speech.
    """

    def __init__(
        self, freq_masks: int = 2, freq_width: int = 15, time_masks: int = 2, time_width: float = 0.05
    ) -> None:
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width

    @staticmethod
    def _band(size: int, widths: torch.Tensor, limits: torch.Tensor) -> torch.Tensor:
        """(B, size) mask of one band per row: width `widths[b]`, inside [0, limits[b])."""
        starts = (torch.rand_like(widths, dtype=torch.float) * (limits - widths + 1)).long()
        pos = torch.arange(size, device=widths.device)[None, :]
        return (pos >= starts[:, None]) & (pos < (starts + widths)[:, None])

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return feats
        batch, time, dims = feats.shape
        mask = torch.zeros(batch, time, dims, dtype=torch.bool, device=feats.device)
        full = torch.full((batch,), dims, device=feats.device)
        for _ in range(self.freq_masks):
            widths = torch.randint(0, self.freq_width + 1, (batch,), device=feats.device)
            mask |= self._band(dims, widths, full)[:, None, :]
        for _ in range(self.time_masks):
            widths = (torch.rand(batch, device=feats.device) * self.time_width * lengths).long()
            mask |= self._band(time, widths, lengths)[:, :, None]
        return feats.masked_fill(mask, 0.0)


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_band_edges(sample_rate: int, n_mels: int) -> torch.Tensor:
    """The n_mels + 2 edges in Hz (float64) of the triangular bands of torchaudio's MelSpectrogram
    defaults (HTK mel scale, 0 Hz to Nyquist): band i spans edges i to i + 2, centred on i + 1."""
    top = float(_hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64)))
    mels = torch.linspace(0.0, top, n_mels + 2, dtype=torch.float64)
    return 700.0 * (10 ** (mels / 2595.0) - 1.0)


class VocalTractWarp(nn.Module):
    """Vocal tract length perturbation (Jaitly and Hinton, 2013) on log-mel frames, training only.

    A shorter or longer vocal tract moves every formant by about the same factor, which is much of
    what separates one speaker's vowels from another's. Each utterance's frequency axis is
    stretched by a factor drawn from [1 - warp, 1 + warp], piecewise linearly so that Nyquist stays
    where it is (f -> a f up to a knee at `boundary` x Nyquist, then a straight line to Nyquist),
    and each mel bin reads the frames' value at its warped source frequency, interpolated between
    the two nearest bins. Padding frames are zeros and stay zeros.
    """

    def __init__(self, sample_rate: int, n_mels: int, warp: float, boundary: float = 0.85) -> None:
        super().__init__()
        if not 0 < warp < 1:
            raise ValueError(f"augment.vtlp_warp must lie between 0 and 1 (e.g. 0.1), not {warp}")
        self.warp, self.boundary, self.nyquist = warp, boundary, sample_rate / 2
        # Float64: the positions go through the mel scale and back, and in float32 that alone
        # moved features by 1e-4 at factor 1.
        self.register_buffer("centres", mel_band_edges(sample_rate, n_mels)[1:-1], persistent=False)

    def warp_bins(self, feats: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
        """`feats` (B, T, n_mels) with utterance b's frequency axis stretched by `factors[b]`."""
        alpha = factors[:, None].to(self.centres)
        nyq = self.nyquist
        knee_in = self.boundary * nyq * alpha.clamp(max=1.0) / alpha  # where f -> a f ends
        knee_out = alpha * knee_in
        out = self.centres[None, :]
        # The source frequency of each output bin: the piecewise-linear warp inverted.
        source = torch.where(
            out <= knee_out, out / alpha, nyq - (nyq - out) * (nyq - knee_in) / (nyq - knee_out)
        )
        mels = _hz_to_mel(self.centres)
        position = (_hz_to_mel(source) - mels[0]) / (mels[1] - mels[0])
        position = position.clamp(0, feats.size(-1) - 1)
        low = position.floor().long().clamp(max=feats.size(-1) - 2)
        frac = (position - low).unsqueeze(1).to(feats.dtype)
        index = low.unsqueeze(1).expand(-1, feats.size(1), -1)
        return feats.gather(2, index) * (1 - frac) + feats.gather(2, index + 1) * frac

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return feats
        factors = 1 + (2 * torch.rand(feats.size(0), device=feats.device) - 1) * self.warp
        return self.warp_bins(feats, factors)


class FeatureAugment(nn.Module):
    """Training's augmentations of the features, in order: warping before masking."""

    def __init__(self, *stages: nn.Module) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            feats = stage(feats, lengths)
        return feats


def feature_augment(settings: dict, sample_rate: int, n_mels: int) -> FeatureAugment:
    """The `augment` config as modules: SpecAugment, after VTLP where `vtlp_warp` is set (a
    checkpoint saved before the option existed has none)."""
    settings = dict(settings)
    warp = settings.pop("vtlp_warp", 0.0)
    stages = [VocalTractWarp(sample_rate, n_mels, warp)] if warp else []
    return FeatureAugment(*stages, SpecAugment(**settings))

"""Log-mel features as an nn.Module, so they run on the batch on the model's device.

DataLoader workers only decode audio; computing features here keeps the CPU workers light
and lets the accelerator do the FFTs.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from asr.padding import length_mask


class LogMel(nn.Module):
    """Waveforms (B, N) to per-utterance normalised log-mel frames (B, T, n_mels).

    Each utterance is normalised by its own mean and standard deviation per mel bin, over its own
    frames only: that removes most of the speaker's and channel's spectral tilt, which is what a
    model needs to generalise to voices it has not heard, and padding never enters the statistics.
    `normalize="utterance"` uses one mean and deviation over all bins instead: it keeps the
    utterance's average spectrum, which for a single short word carries much of its identity.
    Before that, power is floored `floor_db` below the utterance's peak: a band with no signal
    (above 4 kHz in 8 kHz recordings, digital silence) becomes constant and normalises to zero,
    instead of its leakage being stretched to unit variance as if it were speech.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        floor_db: float = 60.0,
        normalize: str = "per_bin",
    ) -> None:
        super().__init__()
        if normalize not in ("per_bin", "utterance"):
            raise ValueError(f"normalize must be 'per_bin' or 'utterance', not {normalize!r}")
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

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples past each length are zeroed and zeros appended, so that every utterance ends in
        silence whatever else is in its batch: its features are the same alone or batched."""
        frames = self.output_lengths(lengths)
        waves = nn.functional.pad(waves.float() * length_mask(lengths, waves.size(1)), (0, self.n_fft // 2))
        with torch.autocast(device_type=waves.device.type, enabled=False):
            spec = self.mel(waves)[..., : frames.max()]  # a tensor bound: traced exports keep it dynamic
            peak = spec.amax(dim=(1, 2), keepdim=True)
            spec = torch.maximum(spec, peak * self.floor).clamp_min(1e-10).log().transpose(1, 2)
        mask = length_mask(frames, spec.size(1)).unsqueeze(-1)
        # Statistics over the utterance's frames: per mel bin, or one pair over all bins.
        dims = (1,) if self.normalize == "per_bin" else (1, 2)
        count = frames.clamp_min(1).view(-1, 1, 1) * (1 if self.normalize == "per_bin" else spec.size(2))
        mean = (spec * mask).sum(dims, keepdim=True) / count
        var = (((spec - mean) * mask) ** 2).sum(dims, keepdim=True) / count
        return ((spec - mean) / (var + 1e-5).sqrt()) * mask, frames


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

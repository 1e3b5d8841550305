import pytest
import torch
import torchaudio

from asr.features import LogMel, SpecAugment


def test_logmel_shape_and_lengths() -> None:
    feats = LogMel(n_mels=80)
    waves = torch.randn(3, 16000)
    lengths = torch.tensor([16000, 8000, 1600])
    out, frames = feats(waves, lengths)
    assert out.shape == (3, 101, 80)
    assert frames.tolist() == [101, 51, 11]
    assert torch.all(out[1, 51:] == 0) and torch.all(out[2, 11:] == 0)


def test_features_are_the_same_alone_or_in_a_padded_batch() -> None:
    feats = LogMel()
    wave = torch.randn(12000)
    alone, frames = feats(wave[None], torch.tensor([12000]))
    batch = torch.stack([torch.cat([wave, torch.randn(8000) * 10]), torch.randn(20000)])
    batched, batch_frames = feats(batch, torch.tensor([12000, 20000]))
    assert batch_frames[0] == frames[0]
    assert torch.allclose(alone[0], batched[0, : frames[0]], atol=1e-4)


def test_specaugment_masks_only_inside_each_utterance_and_only_in_training() -> None:
    augment = SpecAugment(freq_masks=2, freq_width=10, time_masks=2, time_width=0.2)
    feats = torch.randn(4, 100, 40)
    lengths = torch.tensor([100, 60, 30, 5])
    feats[1, 60:] = feats[2, 30:] = feats[3, 5:] = 0
    out = augment(feats, lengths)
    masked = (out == 0) & (feats != 0)
    assert masked.any()
    for row, length in enumerate(lengths.tolist()):
        assert not masked[row, length:].any()
        time_masked = masked[row, :length].all(dim=1).sum().item()
        assert time_masked <= 2 * int(0.2 * length)
    assert torch.equal(augment.eval()(feats, lengths), feats)


def test_a_band_without_signal_stays_flat_instead_of_becoming_noise() -> None:
    # An 8 kHz recording upsampled to 16 kHz: nothing above 4 kHz but resampling leakage, which
    # per-bin normalisation would stretch to unit variance without the floor below the peak.
    t = torch.arange(16000) / 8000
    tones = torch.sin(2 * torch.pi * 440 * t) + 0.5 * torch.sin(2 * torch.pi * 1250 * t)
    narrow = torchaudio.functional.resample(tones, 8000, 16000)
    feats, _ = LogMel()(narrow[None], torch.tensor([len(narrow)]))
    top = torchaudio.functional.melscale_fbanks(257, 0, 8000, 80, 16000).argmax(0) > 130  # above ~4 kHz
    inner = feats[0, 10:-10]  # away from the steps into and out of the signal
    assert inner[:, top].std(dim=0).max() < 0.05
    unfloored, _ = LogMel(floor_db=200)(narrow[None], torch.tensor([len(narrow)]))
    assert unfloored[0, 10:-10][:, top].std(dim=0).max() > 0.5


def test_utterance_normalisation_keeps_the_average_spectrum() -> None:
    wave = torch.randn(16000) + torch.sin(torch.arange(16000) * 2 * torch.pi * 300 / 16000) * 5
    per_bin, _ = LogMel()(wave[None], torch.tensor([16000]))
    whole, _ = LogMel(normalize="utterance")(wave[None], torch.tensor([16000]))
    assert per_bin[0].mean(0).abs().max() < 1e-4  # every bin's average removed
    assert whole[0].mean().abs() < 1e-4 and (whole[0].std() - 1).abs() < 0.01
    assert whole[0].mean(0).std() > 0.3  # the bins' averages differ: the spectral shape survives
    with pytest.raises(ValueError, match="normalize"):
        LogMel(normalize="global")

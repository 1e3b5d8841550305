import pytest
import torch
import torchaudio

from asr.features import LogMel, SpecAugment, VocalTractWarp, feature_augment


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


def _tone(hz: float) -> torch.Tensor:
    t = torch.arange(16000) / 16000
    return torch.sin(2 * torch.pi * hz * t)[None]


def test_vtlp_by_a_factor_moves_a_tone_where_that_much_higher_a_tone_lies() -> None:
    logmel = LogMel(n_mels=80, normalize="utterance")  # keeps the spectrum's shape
    warp = VocalTractWarp(16000, 80, warp=0.2)
    for hz, factor in [(800.0, 1.15), (2000.0, 0.85), (3000.0, 1.1)]:
        feats, _ = logmel(_tone(hz), torch.tensor([16000]))
        target, _ = logmel(_tone(hz * factor), torch.tensor([16000]))
        moved = warp.warp_bins(feats, torch.tensor([factor]))
        peak = lambda x: x[0].mean(0).argmax().item()  # noqa: E731
        assert peak(moved) != peak(feats)
        assert abs(peak(moved) - peak(target)) <= 1, (hz, factor)


def test_vtlp_factor_one_is_identity_padding_stays_zero_and_eval_leaves_features_alone() -> None:
    warp = VocalTractWarp(16000, 40, warp=0.1)
    feats = torch.randn(3, 50, 40)
    feats[1, 30:] = feats[2, 10:] = 0
    assert torch.allclose(warp.warp_bins(feats, torch.ones(3)), feats, atol=1e-5)
    out = warp(feats, torch.tensor([50, 30, 10]))
    assert not torch.allclose(out, feats)
    assert torch.all(out[1, 30:] == 0) and torch.all(out[2, 10:] == 0)
    assert torch.equal(warp.eval()(feats, torch.tensor([50, 30, 10])), feats)


def test_vtlp_warp_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"augment\.vtlp_warp"):
        VocalTractWarp(16000, 80, warp=1.5)


def test_augment_config_warps_before_masking_and_old_configs_only_mask() -> None:
    masks = {"freq_masks": 2, "freq_width": 15, "time_masks": 2, "time_width": 0.05}
    assert [type(s) for s in feature_augment(masks, 16000, 80).stages] == [SpecAugment]
    both = feature_augment({**masks, "vtlp_warp": 0.1}, 16000, 80).stages
    assert [type(s) for s in both] == [VocalTractWarp, SpecAugment]


def test_speaker_normalisation_subtracts_the_given_mean_and_padding_stays_zero() -> None:
    waves, lengths = torch.randn(2, 16000), torch.tensor([16000, 9000])
    utterance, frames = LogMel(normalize="utterance")(waves, lengths)
    means = torch.randn(2, 80)
    speaker, _ = LogMel(normalize="speaker")(waves, lengths, means)
    assert torch.allclose(speaker[0], utterance[0] - means[0], atol=1e-5)
    assert torch.allclose(speaker[1, : frames[1]], utterance[1, : frames[1]] - means[1], atol=1e-5)
    assert torch.all(speaker[1, frames[1] :] == 0)
    sums, counts = LogMel(normalize="speaker").frame_sums(waves, lengths)
    assert torch.allclose(sums, utterance.sum(1), atol=1e-3) and torch.equal(counts, frames)


def test_speaker_means_are_required_by_speaker_normalisation_and_refused_by_the_others() -> None:
    waves, lengths = torch.randn(1, 8000), torch.tensor([8000])
    with pytest.raises(ValueError, match="needs each utterance's speaker means"):
        LogMel(normalize="speaker")(waves, lengths)
    with pytest.raises(ValueError, match="only it takes them"):
        LogMel(normalize="utterance")(waves, lengths, torch.zeros(1, 80))


def test_cepstral_smoothing_keeps_the_envelope_and_removes_the_pitch_ripple() -> None:
    from asr.features import cepstral_smoothing

    n = 80
    smoothing = cepstral_smoothing(n, 20).double()
    bins = torch.arange(n, dtype=torch.float64)
    envelope = torch.cos(torch.pi / n * (bins + 0.5) * 3) + 0.5 * torch.cos(torch.pi / n * (bins + 0.5) * 11)
    ripple = torch.cos(torch.pi / n * (bins + 0.5) * 40)
    assert torch.allclose((envelope + ripple) @ smoothing, envelope, atol=1e-5)
    assert torch.allclose(smoothing @ smoothing, smoothing, atol=1e-5)
    assert cepstral_smoothing(n, 0) is None and cepstral_smoothing(n, n) is None


def test_cepstra_off_leaves_the_features_as_they_were_and_on_changes_them() -> None:
    wave = torch.randn(1, 8000)
    lengths = torch.tensor([8000])
    plain, _ = LogMel()(wave, lengths)
    assert torch.equal(LogMel(cepstra=0)(wave, lengths)[0], plain)
    smoothed, _ = LogMel(cepstra=13)(wave, lengths)
    assert smoothed.shape == plain.shape and not torch.allclose(smoothed, plain, atol=1e-2)
    with pytest.raises(ValueError, match=r"features\.cepstra"):
        LogMel(cepstra=81)

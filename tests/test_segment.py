"""Voice-activity segmentation: cuts fall in pauses, never past max_seconds, the same whatever the
block size, and unreadable audio is an error naming the file."""

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.audio import AudioError
from asr.segment import SegmentConfig, speech_segments

RATE = 8000


def _tone(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)


def _silence(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return (1e-4 * rng.normal(size=int(seconds * RATE))).astype(np.float32)


@pytest.fixture
def bursts(tmp_path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """Three bursts of 'speech' (1.0, 2.5, 0.4 s) between pauses; their true spans in seconds."""
    rng = np.random.default_rng(0)
    parts, spans, now = [], [], 0.0
    for pause, speech in [(0.5, 1.0), (0.8, 2.5), (1.5, 0.4), (0.6, 0.0)]:
        parts.append(_silence(pause, rng))
        now += pause
        if speech:
            parts.append(_tone(speech, rng))
            spans.append((now, now + speech))
            now += speech
    path = tmp_path / "bursts.wav"
    sf.write(str(path), np.concatenate(parts), RATE)
    return path, spans


def test_segments_cover_each_burst_with_its_padding(bursts: tuple[Path, list[tuple[float, float]]]) -> None:
    path, spans = bursts
    cfg = SegmentConfig(pad=0.2, min_silence=0.3)
    segments = list(speech_segments(path, cfg))
    assert len(segments) == len(spans)
    for segment, (start, end) in zip(segments, spans, strict=True):
        assert segment.start == pytest.approx(start - cfg.pad, abs=0.02)
        assert segment.start + segment.duration == pytest.approx(end + cfg.pad, abs=0.02)
        assert segment.sample_rate == RATE


def test_segments_do_not_depend_on_the_block_size(bursts: tuple[Path, list[tuple[float, float]]]) -> None:
    path, _ = bursts
    whole = list(speech_segments(path, SegmentConfig(block_seconds=60)))
    small = list(speech_segments(path, SegmentConfig(block_seconds=0.037)))
    assert [s.start for s in small] == [s.start for s in whole]
    for a, b in zip(small, whole, strict=True):
        np.testing.assert_array_equal(a.samples, b.samples)


def test_long_speech_is_cut_at_its_quietest_frame_within_max_seconds(tmp_path: Path) -> None:
    """Ten 1-second bursts with 0.1 s dips (shorter than min_silence): cuts land in dips."""
    rng = np.random.default_rng(1)
    parts = []
    for _ in range(10):
        parts += [_tone(0.9, rng), _silence(0.1, rng)]
    path = tmp_path / "long.wav"
    sf.write(str(path), np.concatenate(parts), RATE)
    segments = list(speech_segments(path, SegmentConfig(max_seconds=3.0)))
    assert len(segments) > 3
    assert all(s.duration <= 3.0 + 1e-9 for s in segments)
    for segment in segments[1:]:
        assert segment.start % 1.0 >= 0.89  # each cut inside a dip, which spans [k + 0.9, k + 1.0)
    for a, b in itertools.pairwise(segments):
        assert a.start + a.duration == pytest.approx(b.start)  # contiguous: nothing lost between cuts
    assert segments[-1].start + segments[-1].duration == pytest.approx(10.0, abs=0.02)


def test_silence_alone_has_no_segments(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    sf.write(str(path), np.zeros(RATE, dtype=np.float32), RATE)
    assert list(speech_segments(path, SegmentConfig())) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"RIFF\x00\x00garbage"), "cannot read audio file"),
        (
            lambda p: sf.write(str(p), np.full(RATE, np.nan, dtype=np.float32), RATE, subtype="FLOAT"),
            "non-finite",
        ),
    ],
    ids=["corrupt", "nan"],
)
def test_unreadable_audio_is_an_error_naming_the_file(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message) as err:
        list(speech_segments(path, SegmentConfig()))
    assert str(path) in str(err.value)


def test_pauses_are_found_in_steady_noise(
    bursts: tuple[Path, list[tuple[float, float]]], tmp_path: Path
) -> None:
    """Noise 20 dB below the bursts fills every pause; the noise floor, not the loudest frame, finds them."""
    path, spans = bursts
    audio, _ = sf.read(str(path), dtype="float32")
    noise = np.random.default_rng(2).normal(size=audio.size) * np.sqrt(
        np.mean(_tone(1.0, np.random.default_rng(3)) ** 2) / 100
    )
    noisy = tmp_path / "noisy.wav"
    sf.write(str(noisy), (audio + noise).astype(np.float32), RATE, subtype="FLOAT")
    segments = list(speech_segments(noisy, SegmentConfig()))
    assert len(segments) == len(spans)
    for segment, (start, end) in zip(segments, spans, strict=True):
        assert segment.start <= start and segment.start + segment.duration >= end

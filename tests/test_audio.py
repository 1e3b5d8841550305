from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.audio import AudioError, load_audio
from tests.conftest import FSDD


def test_stereo_is_mixed_down_and_resampled(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left, right = np.sin(2 * np.pi * 440 * t), np.zeros_like(t)
    path = tmp_path / "stereo.flac"
    sf.write(str(path), np.stack([left, right], axis=1).astype(np.float32), 44100)
    wave = load_audio(path, 16000)
    assert wave.ndim == 1 and wave.dtype == np.float32
    assert abs(len(wave) - 16000) <= 1
    assert 0.4 < np.abs(wave).max() < 0.6  # half of the left channel


@pytest.mark.skipif(not FSDD.is_dir(), reason="needs ../shared/data/fsdd")
def test_real_8k_recording_is_upsampled() -> None:
    path = FSDD / "3_george_0.wav"
    assert len(load_audio(path, 16000)) == pytest.approx(2 * sf.info(str(path)).frames, abs=2)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"junk")
    with pytest.raises(AudioError, match=r"broken\.wav"):
        load_audio(path)


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype"), [(".ogg", "OGG", "VORBIS"), (".mp3", "MP3", "MPEG_LAYER_III")]
)
def test_compressed_formats_load_at_16k(tmp_path: Path, suffix: str, fmt: str, subtype: str) -> None:
    t = np.arange(22050) / 22050
    path = tmp_path / f"tone{suffix}"
    sf.write(
        str(path), (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 22050, format=fmt, subtype=subtype
    )
    wave = load_audio(path, 16000)
    assert abs(len(wave) - 16000) < 1200  # MP3 frames pad the end a little
    assert 0.3 < np.abs(wave).max() < 0.7

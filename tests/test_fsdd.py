import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.corpora.fsdd import import_fsdd
from asr.data.manifest import read_manifest
from asr.text import CharTokenizer
from tests.conftest import FSDD

TOK = CharTokenizer()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone's layout: recordings/{digit}_{speaker}_{index}.wav at 8 kHz, plus one stray file."""
    recordings = tmp_path / "free-spoken-digit-dataset" / "recordings"
    recordings.mkdir(parents=True)
    for digit, speaker, take in [
        (3, "alice", 0),
        (3, "alice", 5),
        (3, "alice", 9),
        (7, "bob", 4),
        (7, "bob", 6),
        (0, "bob", 49),
    ]:
        seconds = 0.25 + 0.05 * take / 10
        sf.write(
            str(recordings / f"{digit}_{speaker}_{take}.wav"), np.zeros(int(8000 * seconds), np.int16), 8000
        )
    sf.write(str(recordings / "notes.wav"), np.zeros(800, np.int16), 8000)
    return recordings.parent


def _texts(manifest: Path) -> list[tuple[str, str]]:
    return [(u.audio_filepath.name, u.text) for u in read_manifest(manifest, TOK)]


def test_official_split_and_validation_slice(
    clone: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        manifests = import_fsdd(clone, tmp_path / "manifests", val_takes=2)
    assert _texts(manifests["test"]) == [("3_alice_0.wav", "three"), ("7_bob_4.wav", "seven")]
    assert _texts(manifests["val"]) == [("3_alice_5.wav", "three"), ("7_bob_6.wav", "seven")]
    assert _texts(manifests["train"]) == [("0_bob_49.wav", "zero"), ("3_alice_9.wav", "three")]
    assert [u.speaker for u in read_manifest(manifests["train"], TOK)] == ["bob", "alice"]
    assert "skipped 1 files" in caplog.text and "notes.wav" in caplog.text
    duration = read_manifest(manifests["train"], TOK)[0].duration
    assert duration == pytest.approx(0.25 + 0.05 * 4.9, abs=1e-3)  # from the header


def test_held_out_speaker_is_the_whole_test_set(clone: Path, tmp_path: Path) -> None:
    manifests = import_fsdd(clone / "recordings", tmp_path, val_takes=2, holdout_speaker="bob")
    assert {name for name, _ in _texts(manifests["test"])} == {"7_bob_4.wav", "7_bob_6.wav", "0_bob_49.wav"}
    assert all("alice" in name for name, _ in _texts(manifests["train"]) + _texts(manifests["val"]))


def test_unknown_held_out_speaker_and_empty_folder_are_errors(clone: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'carol' is not one of"):
        import_fsdd(clone, tmp_path, holdout_speaker="carol")
    with pytest.raises(FileNotFoundError, match=r"data\.root"):
        import_fsdd(tmp_path / "empty", tmp_path)


@pytest.mark.skipif(not FSDD.is_dir(), reason="needs ../shared/data/fsdd")
def test_shared_five_speakers(tmp_path: Path) -> None:
    manifests = import_fsdd(FSDD.parent, tmp_path, val_takes=2)
    counts = {split: len(read_manifest(path, TOK, check_audio=False)) for split, path in manifests.items()}
    assert counts == {"test": 250, "val": 100, "train": 2150}

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.manifest import ManifestError, OnError, Utterance, read_manifest, write_manifest
from asr.text import CharTokenizer

TOK = CharTokenizer()


def _wav(path: Path, seconds: float = 0.5) -> Path:
    sf.write(str(path), np.zeros(int(16000 * seconds), dtype=np.float32), 16000)
    return path


def _manifest(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_round_trip_with_relative_paths(tmp_path: Path) -> None:
    audio = _wav(tmp_path / "a.wav")
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, [Utterance(audio.resolve(), 0.5, "call mom")])
    assert json.loads(manifest.read_text())["audio_filepath"] == "a.wav"
    (row,) = read_manifest(manifest, TOK)
    assert row == Utterance(tmp_path / "a.wav", 0.5, "call mom")
    assert row.speaker_key == str(tmp_path / "a.wav")  # without a speaker: its file's own


def test_speaker_round_trips_and_groups_rows(tmp_path: Path) -> None:
    audio = _wav(tmp_path / "a.wav").resolve()
    manifest = tmp_path / "m.jsonl"
    rows = [Utterance(audio, 0.5, "hi", speaker="ann"), Utterance(audio, 0.5, "yo", 0.0, "ann")]
    write_manifest(manifest, rows)
    first, second = read_manifest(manifest, TOK)
    assert first.speaker == "ann" and first.speaker_key == second.speaker_key != str(audio)
    row = {"audio_filepath": "a.wav", "duration": 0.5, "text": "hi", "speaker": 3}
    numbered = _manifest(tmp_path / "n.jsonl", [row])
    assert read_manifest(numbered, TOK)[0].speaker == "3"  # NeMo numbers its speakers


def test_text_is_normalised_on_read(tmp_path: Path) -> None:
    _wav(tmp_path / "a.wav")
    m = _manifest(tmp_path / "m.jsonl", [{"audio_filepath": "a.wav", "duration": 0.5, "text": " Call  MOM "}])
    assert read_manifest(m, TOK)[0].text == "call mom"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"audio_filepath": "missing.wav", "duration": 1, "text": "hi"}, "does not exist"),
        ({"audio_filepath": "corrupt.wav", "duration": 1, "text": "hi"}, "cannot be read"),
        ({"audio_filepath": "empty.wav", "duration": 1, "text": "hi"}, "has no samples"),
        ({"audio_filepath": "good.wav", "duration": 1, "text": "  "}, "empty transcript"),
        ({"audio_filepath": "good.wav", "duration": 1, "text": "call 911"}, "outside the vocabulary"),
        ({"audio_filepath": "good.wav", "text": "hi"}, "needs the keys"),
        ({"audio_filepath": "good.wav", "duration": 1, "text": "hi", "speaker": [7]}, r"speaker \[7\] of"),
    ],
)
def test_bad_row_is_reported_with_file_and_line(tmp_path: Path, row: dict, message: str) -> None:
    _wav(tmp_path / "good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    _wav(tmp_path / "empty.wav", seconds=0)
    good = {"audio_filepath": "good.wav", "duration": 0.5, "text": "fine"}
    manifest = _manifest(tmp_path / "m.jsonl", [good, row])
    with pytest.raises(ManifestError, match=rf"m\.jsonl:2: .*{message}"):
        read_manifest(manifest, TOK)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("{not json\n")
    with pytest.raises(ManifestError, match=r"m\.jsonl:1:"):
        read_manifest(manifest, TOK)


def test_skip_mode_drops_bad_rows_and_logs_the_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _wav(tmp_path / "good.wav")
    rows = [
        {"audio_filepath": "good.wav", "duration": 0.5, "text": "fine"},
        {"audio_filepath": "missing.wav", "duration": 0.5, "text": "fine"},
        {"audio_filepath": "good.wav", "duration": 0.5, "text": "no 1"},
    ]
    with caplog.at_level(logging.WARNING):
        kept = read_manifest(_manifest(tmp_path / "m.jsonl", rows), TOK, on_error=OnError.SKIP)
    assert [u.text for u in kept] == ["fine"]
    assert "skipped 2 of 3 rows" in caplog.text
    assert "missing.wav" in caplog.text


def test_missing_manifest_says_to_prepare_data(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="prepare the data"):
        read_manifest(tmp_path / "nope.jsonl", TOK)


def test_on_error_is_checked_where_the_config_enters() -> None:
    assert OnError.parse("skip", "data.on_error") is OnError.SKIP
    with pytest.raises(ValueError, match=r"data.on_error must be one of raise\|skip .*'skp'"):
        OnError.parse("skp", "data.on_error")


def test_a_manifest_write_that_fails_midway_leaves_the_old_one_whole(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    old = [Utterance(tmp_path / f"{i}.wav", 1.0, "old") for i in range(3)]
    assert write_manifest(path, old) == path
    before = path.read_text()

    def rows():
        yield Utterance(tmp_path / "new.wav", 1.0, "new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_manifest(path, rows())
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".wav"] == ["train.jsonl"]

"""NeMo segment manifests: rows with `offset` are the segment, in training, validation and decoding."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr.data.audio import AudioError
from asr.data.datamodule import SpeechDataModule, SpeechDataset
from asr.data.manifest import ManifestError, OnError, Utterance, read_manifest, write_manifest
from asr.evaluation import acoustic_pass
from asr.inference import expand_audio_paths
from asr.text import CharTokenizer

TOK = CharTokenizer()
RATE = 16000
# Three tones, one second each, half a second of silence between: which one a row's audio holds
# says which part of the file was read.
TONES = {"low": (0.0, 300.0), "mid": (1.5, 1100.0), "high": (3.0, 2900.0)}


def _recording(path: Path) -> Path:
    audio = np.zeros(int(4.0 * RATE), dtype=np.float32)
    for start, hertz in TONES.values():
        t = np.arange(RATE) / RATE
        audio[int(start * RATE) : int(start * RATE) + RATE] = 0.5 * np.sin(2 * np.pi * hertz * t)
    sf.write(str(path), audio, RATE)
    return path


def _segments_manifest(tmp_path: Path, rows: list[dict] | None = None) -> Path:
    audio = _recording(tmp_path / "long.wav")
    rows = rows or [
        {"audio_filepath": audio.name, "offset": start, "duration": 1.0, "text": word, "speaker": 3}
        for word, (start, _) in TONES.items()
    ]
    manifest = tmp_path / "segments.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def _dominant_hertz(wave) -> float:
    spectrum = np.abs(np.fft.rfft(np.asarray(wave, dtype=np.float64)))
    return float(np.argmax(spectrum) * RATE / len(wave))


def test_training_reads_each_segment_of_one_file(tmp_path: Path) -> None:
    manifest = str(_segments_manifest(tmp_path))
    data = SpeechDataModule(manifest, manifest, manifest, TOK, batch_seconds=10, num_workers=0)
    data.setup("fit")
    seen = {}
    for split in ("train_dataloader", "val_dataloader"):
        for batch in getattr(data, split)():
            for label, wave, n, tokens, k in zip(
                batch.paths, batch.waves, batch.wave_lengths, batch.targets, batch.target_lengths, strict=True
            ):
                seen[TOK.decode(tokens[:k].tolist()), split] = (label, n.item(), _dominant_hertz(wave[:n]))
    for word, (start, hertz) in TONES.items():
        for split in ("train_dataloader", "val_dataloader"):
            label, samples, dominant = seen[word, split]
            assert samples == RATE, "the segment's second, not the whole file"
            assert dominant == pytest.approx(hertz, abs=2), (word, split)
            assert label.endswith(f"long.wav [{start:g}-{start + 1:g} s]")


def test_decoding_reads_each_segment_and_names_it(tmp_path: Path) -> None:
    class Recorder:
        tokenizer, sample_rate = TOK, RATE

        def outputs(self, waves, states, speakers):
            self.waves, self.speakers = waves, speakers
            return [(np.zeros((1, TOK.vocab_size), dtype=np.float32), None) for _ in waves]

    recorder = Recorder()
    data = acoustic_pass(recorder, _segments_manifest(tmp_path))
    assert data.references == list(TONES) and data.audio_seconds == 3.0
    for wave, (_start, hertz) in zip(recorder.waves, TONES.values(), strict=True):
        assert len(wave) == RATE and _dominant_hertz(wave) == pytest.approx(hertz, abs=2)
    assert data.ids[1].endswith("long.wav [1.5-2.5 s]")
    assert recorder.speakers == ["speaker:3"] * 3  # the manifest's speaker, numbered as NeMo does


def test_segment_past_the_end_of_its_file_is_bad_input(tmp_path: Path, caplog) -> None:
    """Found when the manifest is read, or, with check_audio=false, when a worker reads it."""
    good = {"audio_filepath": "long.wav", "offset": 1.5, "duration": 1.0, "text": "mid"}
    late = {"audio_filepath": "long.wav", "offset": 3.5, "duration": 1.0, "text": "late"}
    manifest = _segments_manifest(tmp_path, [good, late])
    with pytest.raises(
        ManifestError, match=r":2: segment 3\.5 s \+ 1 s runs past the end of .*long\.wav \(4\.00 s\)"
    ):
        read_manifest(manifest, TOK)
    with caplog.at_level(logging.WARNING):
        assert [u.text for u in read_manifest(manifest, TOK, OnError.SKIP)] == ["mid"]
    assert "skipped 1 of 2" in caplog.text
    unchecked = read_manifest(manifest, TOK, check_audio=False)
    with pytest.raises(AudioError, match=r"segment 3\.5 s \+ 1 s of .*long\.wav runs past the file's end"):
        SpeechDataset(unchecked, TOK, RATE)[1]
    assert SpeechDataset(unchecked, TOK, RATE, on_error=OnError.SKIP)[1] is None


def test_offset_round_trips_and_a_segmented_file_is_transcribed_once(tmp_path: Path) -> None:
    manifest = _segments_manifest(tmp_path)
    rows = read_manifest(manifest, TOK)
    assert [u.offset for u in rows] == [0.0, 1.5, 3.0]
    copy = tmp_path / "copy.jsonl"
    write_manifest(copy, [*rows, Utterance((tmp_path / "long.wav").resolve(), 4.0, "all of it")])
    again = read_manifest(copy, TOK)
    assert [(u.offset, u.duration) for u in again] == [(0.0, 1.0), (1.5, 1.0), (3.0, 1.0), (None, 4.0)]
    assert "offset" not in json.loads(copy.read_text().splitlines()[-1])
    assert expand_audio_paths([manifest]) == [tmp_path / "long.wav"]

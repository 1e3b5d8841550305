"""Speaker means (`features.normalize=speaker`): pooled over a speaker's audio, whatever the
batching, from an even spread of their rows, and the same at training, scoring and transcription."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.data.manifest import OnError, Utterance
from asr.features import LogMel
from asr.inference import Transcriber
from asr.recognizer import Recognizer, TorchRunner
from asr.segment import SegmentConfig, speech_segments
from asr.speakers import mean_frame, speaker_means, spread
from asr.text import CharTokenizer


def _wav(path: Path, seconds: float, seed: int, gain: float = 1.0) -> Utterance:
    wave = np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1 * gain
    sf.write(str(path), wave, 16000)
    return Utterance(path, seconds, "hi", speaker=path.stem.split("_")[0])


def test_the_mean_is_over_all_frames_however_the_waves_are_batched(monkeypatch: pytest.MonkeyPatch) -> None:
    features = LogMel(normalize="speaker")
    waves = [torch.randn(n) for n in (16000, 4000, 12000, 800)]
    sums, frames = zip(*(features.frame_sums(w[None], torch.tensor([len(w)])) for w in waves), strict=True)
    expected = torch.cat(sums).sum(0) / torch.cat(frames).sum()
    monkeypatch.setattr("asr.speakers.BATCH_SECONDS", 1.1)  # several batches, not one
    assert torch.allclose(mean_frame(features, waves), expected, atol=1e-5)


def test_spread_takes_rows_evenly_through_a_sorted_list() -> None:
    rows = [Utterance(Path(f"{i}.wav"), 1.0, "hi") for i in range(10)]
    assert [u.audio_filepath.stem for u in spread(rows, seconds=4.0)] == ["0", "3", "6", "9"]
    assert spread(rows, seconds=60.0) == rows


def test_each_speaker_gets_the_mean_of_their_own_audio_and_a_row_without_one_its_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [_wav(tmp_path / "ann_1.wav", 0.5, 1), _wav(tmp_path / "bob_1.wav", 0.4, 2, gain=3.0)]
    rows.append(_wav(tmp_path / "ann_2.wav", 0.3, 3))
    rows.append(replace(_wav(tmp_path / "nobody.wav", 0.3, 4), speaker=None))
    features = LogMel(normalize="speaker")
    means = speaker_means(features, rows, OnError.RAISE)
    ann = mean_frame(features, [torch.from_numpy(rows[i].load(16000)) for i in (0, 2)])
    assert set(means) == {"speaker:ann", "speaker:bob", str(tmp_path / "nobody.wav")}
    assert "1 of 4 rows name no speaker" in caplog.text
    assert torch.allclose(means["speaker:ann"], ann)
    assert not torch.allclose(means["speaker:ann"], means["speaker:bob"], atol=1e-3)


def test_an_unreadable_file_is_bad_input_named_or_skipped(tmp_path: Path) -> None:
    good = _wav(tmp_path / "ann_1.wav", 0.5, 1)
    (tmp_path / "bob_1.wav").write_bytes(b"RIFF not audio")
    bad = Utterance(tmp_path / "bob_1.wav", 0.5, "hi", speaker="bob")
    with pytest.raises(ValueError, match=r"bob_1\.wav"):
        speaker_means(LogMel(normalize="speaker"), [good, bad], OnError.RAISE)
    assert set(speaker_means(LogMel(normalize="speaker"), [good, bad], OnError.SKIP)) == {"speaker:ann"}


class _Spy(TorchRunner):
    """A runner that records every speaker-mean row it is given."""

    def __init__(self, recognizer: Recognizer) -> None:
        super().__init__(recognizer, "cpu")
        self.rows: list[np.ndarray] = []

    def __call__(self, waves: np.ndarray, lengths: np.ndarray, speaker_means: np.ndarray | None = None):
        self.rows += list(speaker_means)
        return super().__call__(waves, lengths, speaker_means)


def _speaker_recognizer() -> Recognizer:
    torch.manual_seed(0)
    tokenizer = CharTokenizer().to_dict()
    return Recognizer(tokenizer, {"n_mels": 40, "normalize": "speaker"}, {"hidden_size": 8, "num_layers": 1})


def test_scoring_pools_each_speakers_rows_into_one_mean() -> None:
    runner = _Spy(_speaker_recognizer())
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (8000, 6000, 12000)]
    Transcriber(runner).outputs(waves, False, ["ann", "bob", "ann"])
    ann, bob = runner.speaker_mean([waves[0], waves[2]]), runner.speaker_mean([waves[1]])
    given = sorted(float(row.sum()) for row in runner.rows)
    assert given == sorted(float(mean.sum()) for mean in (ann, bob, ann))


def test_a_transcribed_file_is_one_speaker_however_its_segments_are_batched(tmp_path: Path) -> None:
    """A file cut into several segments, in batches of less than one segment: each segment still
    gets the mean over all of its file's segments, and the next file its own."""
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    burst = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    pause = np.zeros(9600)
    speech = np.concatenate([pause, burst, pause, 2 * burst, pause, burst, pause])
    sf.write(str(tmp_path / "a.wav"), speech + 0.002 * rng.standard_normal(speech.size), 16000)
    sf.write(str(tmp_path / "b.wav"), 0.5 * burst + 0.002 * rng.standard_normal(burst.size), 16000)
    runner = _Spy(_speaker_recognizer())
    segments = SegmentConfig(max_seconds=1.3)
    results = list(Transcriber(runner, batch_seconds=0.5, segments=segments).transcribe([tmp_path]))
    assert [r.path.name for r in results] == ["a.wav", "b.wav"]
    whole = [s.samples for s in speech_segments(tmp_path / "a.wav", segments)]
    file_a, file_b = runner.rows[: len(whole)], runner.rows[len(whole) :]
    assert len(whole) >= 3 and len(file_b) >= 1
    assert all(np.allclose(row, runner.speaker_mean(whole), atol=1e-5) for row in file_a)
    assert not np.allclose(file_b[0], file_a[0], atol=1e-3)

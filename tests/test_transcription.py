"""The transcribe command: bad files named and skipped, the rest printed, formats that parse back,
and an inference path that never imports Lightning or Hydra."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import srt
import webvtt

from asr import transcription
from asr.alignment import Word
from asr.formats import OutputFormat, render
from asr.inference import Transcriber
from asr.transcription import transcribe_command, transcribe_files


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (
        0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.normal(size=t.size)
    ).astype(np.float32)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    folder.mkdir()
    sf.write(str(folder / "a_good.wav"), _speechlike(1.5, 0), 16000)
    (folder / "b_corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt this is not audio")
    sf.write(str(folder / "c_empty.wav"), np.zeros(0, dtype=np.float32), 16000)
    sf.write(str(folder / "d_nan.wav"), np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    sf.write(str(folder / "e_good.flac"), _speechlike(2.0, 1), 16000)
    return folder


def test_bad_files_are_named_and_skipped_and_the_good_ones_printed(
    untrained_checkpoint: Path, mixed_folder: Path, capsys: pytest.CaptureFixture
) -> None:
    failures = transcribe_files(untrained_checkpoint, [mixed_folder], "jsonl", device="cpu")
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["audio_filepath"]).name for r in rows] == ["a_good.wav", "e_good.flac"]
    assert [r["duration"] for r in rows] == [1.5, 2.0]
    assert failures == 3
    for name, reason in [
        ("b_corrupt.wav", "cannot read"),
        ("c_empty.wav", "no samples"),
        ("d_nan.wav", "non-finite"),
    ]:
        (line,) = [line for line in err.splitlines() if name in line]
        assert reason in line
    assert "transcribed 2 of 5 files; 3 failed" in err


def test_the_command_exits_non_zero_when_a_file_failed(
    untrained_checkpoint: Path, mixed_folder: Path
) -> None:
    root = Path(__file__).resolve().parents[1]
    args = [
        f"ckpt={untrained_checkpoint}",
        "decoder=greedy",
        "device=cpu",
        f"hydra.run.dir={mixed_folder.parent / 'h'}",
    ]
    script = str(root / "scripts" / "transcribe.py")
    bad = subprocess.run(
        [sys.executable, script, *args, f"audio={mixed_folder}"], capture_output=True, text=True
    )
    assert bad.returncode == 1 and len(bad.stdout.splitlines()) == 2
    good = mixed_folder / "a_good.wav"
    ok = subprocess.run([sys.executable, script, *args, f"audio={good}"], capture_output=True, text=True)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 1


def test_output_dir_gets_one_file_per_input(
    untrained_checkpoint: Path, mixed_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    transcriber = Transcriber.from_checkpoint(untrained_checkpoint, device="cpu")
    good = [mixed_folder / "a_good.wav", mixed_folder / "e_good.flac"]
    assert transcribe_command(transcriber, good, OutputFormat.VTT, tmp_path / "out") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_good.vtt", "e_good.vtt"]
    assert capsys.readouterr().out.count("WEBVTT") == 2


WORDS = [
    Word("turn", 0.52, 0.81, 0.9),
    Word("on", 0.84, 0.97, 0.8),
    Word("the", 1.0, 1.1, 0.95),
    Word("kitchen", 1.12, 1.6, 0.7),
    Word("lights", 3.1, 3.5, 0.99),  # after a pause: a new cue
    *[Word(f"word{k}", 3.6 + 0.4 * k, 3.9 + 0.4 * k, 0.5) for k in range(12)],  # too long for one cue
    Word("late", 3725.25, 3726.0, 0.6),  # past an hour
]


def _cue_words(cues: list[tuple[float, float, str]]) -> list[str]:
    return [w for _, _, text in cues for w in text.split()]


def test_srt_parses_back_to_the_same_words_and_times() -> None:
    cues = [
        (c.start.total_seconds(), c.end.total_seconds(), c.content)
        for c in srt.parse(render(OutputFormat.SRT, "", WORDS, {}))
    ]
    _check_cues(cues)


def test_vtt_parses_back_to_the_same_words_and_times() -> None:
    parsed = webvtt.from_string(render(OutputFormat.VTT, "", WORDS, {}))
    _check_cues(
        [
            (
                c.start_in_seconds + c.start_time.milliseconds / 1000,
                c.end_in_seconds + c.end_time.milliseconds / 1000,
                c.text,
            )
            for c in parsed
        ]
    )


def _check_cues(cues: list[tuple[float, float, str]]) -> None:
    assert _cue_words(cues) == [w.text for w in WORDS]
    assert len(cues) > 3
    position = 0
    for start, end, text in cues:
        count = len(text.split())
        assert start == pytest.approx(WORDS[position].start) and end == pytest.approx(
            WORDS[position + count - 1].end
        )
        position += count


def test_jsonl_carries_words_with_times_and_confidence() -> None:
    row = json.loads(render(OutputFormat.JSONL, "turn on", WORDS[:2], {"duration": 2.0}))
    assert row["text"] == "turn on" and row["duration"] == 2.0
    assert row["words"][1] == {"word": "on", "start": 0.84, "end": 0.97, "confidence": 0.8}


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match=re.escape("text|jsonl|srt|vtt")):
        OutputFormat.parse("docx", "format")


def test_the_inference_path_imports_neither_lightning_nor_hydra_nor_torch() -> None:
    """torch only arrives with the torch backend (or a file to resample); the ONNX path never needs it."""
    code = (
        "import sys, asr.inference, asr.transcription; print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'numpy'" in loaded  # the check can see imports
    for name in ("lightning", "pytorch_lightning", "hydra", "omegaconf", "torch"):
        assert f"'{name}'" not in loaded


def test_the_progress_bar_appears_only_once_a_job_runs_long(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    clock = iter([0.0, 1.0, 2.0, 9.0, 10.0])
    monkeypatch.setattr(transcription.time, "monotonic", lambda: next(clock))
    progress = transcription.Progress(total=5)
    progress.update()
    progress.update()
    progress.write("quick", sys.stdout)
    assert progress.bar is None and capsys.readouterr() == ("quick\n", "")
    progress.update()  # 9 s in: the bar appears, counting what is already done
    assert progress.bar is not None and progress.bar.n == 3
    progress.close()


def test_a_missing_file_and_an_empty_folder_are_reported(
    untrained_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "empty").mkdir()
    failures = transcribe_files(
        untrained_checkpoint, [tmp_path / "none.wav", tmp_path / "empty"], device="cpu"
    )
    err = capsys.readouterr().err
    assert failures == 2
    assert "none.wav does not exist" in err and "holds no audio files" in err

"""Benchmarks' own logic, tested: the GPU benchmark runs end to end on the CPU with tiny shapes, so that
the GPU run is not its first; speaker adaptation keeps only the pseudo-labels and enrolled takes it says
it keeps; the confusion counts read every result file's shape."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_throughput_smoke_run_measures_every_row(tmp_path: Path) -> None:
    out = tmp_path / "gpu_throughput.json"
    args = ["--smoke", "--hours", "0.01", "--transcribe-hours", "0.003", "--batch-seconds", "8"]
    args += ["--steps", "2", "--warmup", "1", "--rounds", "1", "--workers", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_throughput.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = {(r["model"], r["precision"], r["recurrence"]) for r in result["training"]}
    assert len(rows) == 2 * 2 * 2  # models x CPU precisions x recurrences
    for row in result["training"]:
        assert row["full"]["steps"] == row["bare"]["steps"] == 2
        assert row["full"]["audio_seconds"] > 2 * 4, (
            "two batches of 8 s, silence included, half or more speech"
        )
        assert 0 <= row["full"]["idle_fraction"] < 1
        assert row["full_over_bare"] > 0
    for name in ("default 3x256", "5x1024"):
        assert result["largest_batch"][name]["largest_batch_seconds"] == 8.0  # the CPU run's cap
        transcription = result["transcription"][name]
        assert transcription["audio_seconds"] >= 0.003 * 3600, "every generated file transcribed"
        assert transcription["whole_real_time"] > 0 and transcription["acoustic_real_time"] > 0


def test_pseudo_labels_keep_only_nonempty_hypotheses_and_agreed_ones_where_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from speaker_adapt import pseudo_labelled, take

    from asr.data.manifest import Utterance

    rows = [
        Utterance(Path(f"/fsdd/{d}_george_{t}.wav"), 0.5, w)
        for d, t, w in [(2, 7, "two"), (4, 8, "four"), (5, 9, "five")]
    ]
    report = {
        "hypotheses": [
            {"id": "/fsdd/2_george_7.wav", "reference": "two", "greedy": "two", "beam": "two"},
            {"id": "/fsdd/4_george_8.wav", "reference": "four", "greedy": "fo", "beam": "five"},
            {"id": "/fsdd/5_george_9.wav", "reference": "five", "greedy": "", "beam": ""},
        ]
    }
    agreed, wrong = pseudo_labelled(rows, report, "agreed")
    assert [r.text for r in agreed] == ["two"] and wrong == 0
    every, wrong = pseudo_labelled(rows, report, "beam")
    assert [r.text for r in every] == ["two", "five"] and wrong == 1, "the wrong one counted, no empty label"
    assert [take(r) for r in rows] == [7, 8, 9]


def test_enrollment_takes_each_digits_lowest_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from speaker_adapt import enrollment

    from asr.data.manifest import Utterance

    rows = [Utterance(Path(f"/fsdd/{d}_lucas_{t}.wav"), 0.5, str(d)) for d in (3, 4) for t in (8, 2, 10, 6)]
    chosen = enrollment(rows, 2)
    assert sorted(u.audio_filepath.name for u in chosen) == [
        "3_lucas_2.wav",
        "3_lucas_6.wav",
        "4_lucas_2.wav",
        "4_lucas_6.wav",
    ]
    assert enrollment(rows, 0) == []


def test_confusions_count_only_beam_errors_and_read_every_result_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from confusions import confusions, models

    errors = [
        {"reference": "four", "greedy": "fife", "beam": "five"},
        {"reference": "four", "greedy": "five", "beam": "five"},
        {"reference": "two", "greedy": "tw", "beam": "two"},
        {"reference": "six", "greedy": "", "beam": ""},
    ]
    assert confusions(errors) == {("four", "five"): 2, ("six", ""): 1}
    shapes = {
        "run": {"errors": errors},
        "loso": {"speakers": [{"split": "s1", "errors": errors}, {"split": "s2", "errors": []}]},
        "ensemble": {"members": [{"errors": errors}, {"errors": errors[:1]}]},
    }
    for name, result in shapes.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(result))
    assert [n for n, _ in models(tmp_path / "loso.json")] == ["s1", "s2"]
    assert len(models(tmp_path / "ensemble.json")[1][1]) == 1
    assert models(tmp_path / "run.json") == [("", errors)]
    (tmp_path / "none.json").write_text(json.dumps({"speakers": [{"beam_wer": 0.1}]}))
    with pytest.raises(SystemExit, match="holds no errors"):
        models(tmp_path / "none.json")

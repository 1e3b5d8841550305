"""The GPU benchmark runs end to end on the CPU with tiny shapes, so that the GPU run is not its first."""

import json
import subprocess
import sys
from pathlib import Path

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

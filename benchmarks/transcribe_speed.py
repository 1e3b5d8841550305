"""Transcription speed: a one-file command's wall time, and ONNX Runtime against torch eager.

    python benchmarks/transcribe_speed.py [--ckpt runs/demo/checkpoints/best.ckpt] [--runs 5]

1. Start-up: `python scripts/transcribe.py ckpt=CKPT audio=<first test file>` (beam search with
   the run's lexicon and LM), --runs times, wall clock from launch to exit; the median, with the
   torch backend and with backend=onnx on the file `scripts/export.py` writes beside the
   checkpoint. For scale, the median wall time of `python -c "import torch"` alone.
2. Acoustic model on the demo's test split (data/synthetic/test.jsonl), CPU, batches of up to
   --batch-seconds: torch eager against the exported ONNX graph in onnxruntime, seconds and
   multiples of real time (median of --runs passes), and the largest log-probability difference.

Needs the checkpoint of `make demo`. Writes benchmarks/results/transcribe_speed.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from provenance import commit, machine

from asr.backends import Backend
from asr.data.audio import load_audio
from asr.export import export_checkpoint
from asr.inference import Transcriber

ROOT = Path(__file__).resolve().parents[1]


def wall(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(round(time.perf_counter() - start, 3))
    return times


def startup(ckpt: Path, onnx: Path, audio: Path, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script = [
            sys.executable,
            str(ROOT / "scripts" / "transcribe.py"),
            f"audio={audio}",
            f"hydra.run.dir={tmp}",
        ]
        torch_runs = wall([*script, f"ckpt={ckpt}"], runs)
        onnx_runs = wall([*script, f"ckpt={onnx}", "backend=onnx"], runs)
    import_runs = wall([sys.executable, "-c", "import torch"], runs)
    return {
        "audio": str(audio),
        "torch_backend_seconds": {"median": statistics.median(torch_runs), "runs": torch_runs},
        "onnx_backend_seconds": {"median": statistics.median(onnx_runs), "runs": onnx_runs},
        "import_torch_seconds": {"median": statistics.median(import_runs), "runs": import_runs},
    }


def acoustic(ckpt: Path, onnx: Path, manifest: Path, runs: int, batch_seconds: float) -> dict:
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    eager = Transcriber.from_checkpoint(ckpt, device="cpu", batch_seconds=batch_seconds)
    exported = Transcriber.from_checkpoint(
        onnx, device="cpu", batch_seconds=batch_seconds, backend=Backend.ONNX
    )
    waves = [load_audio(manifest.parent / r["audio_filepath"], eager.sample_rate) for r in rows]
    audio_seconds = sum(len(w) for w in waves) / eager.sample_rate
    result = {
        "utterances": len(waves),
        "audio_seconds": round(audio_seconds, 1),
        "threads": torch.get_num_threads(),
    }
    outputs = {}
    for name, transcriber in (("torch_eager", eager), ("onnxruntime", exported)):
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            outputs[name] = transcriber.log_probs(waves)
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        result[name] = {"seconds": round(median, 3), "times_real_time": round(audio_seconds / median, 1)}
    result["max_abs_log_prob_difference"] = float(
        max(np.abs(a - b).max() for a, b in zip(outputs["torch_eager"], outputs["onnxruntime"], strict=True))
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--manifest", type=Path, default=ROOT / "data" / "synthetic" / "test.jsonl")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-seconds", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "transcribe_speed.json")
    args = parser.parse_args()
    if not args.ckpt.is_file():
        raise SystemExit(f"{args.ckpt} does not exist: run `make demo` first")
    onnx = export_checkpoint(args.ckpt, "onnx")
    first = json.loads(args.manifest.read_text().splitlines()[0])["audio_filepath"]
    record = {
        "commit": commit(),
        "machine": machine(),
        "checkpoint": str(args.ckpt),
        "startup": startup(args.ckpt, onnx, args.manifest.parent / first, args.runs),
        "acoustic_model": acoustic(args.ckpt, onnx, args.manifest, args.runs, args.batch_seconds),
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

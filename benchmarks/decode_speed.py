"""Beam decoding speed on the demo's test split: the search alone, and the whole decode command.

    python benchmarks/decode_speed.py [--ckpt runs/demo/checkpoints/best.ckpt] [--runs 5]

Runs `python scripts/decode.py ckpt=CKPT` (the default data config's test split; beam search with
the run's lexicon, LM and tuned weights) --runs times in a row. For each run it records the
command's wall time (interpreter start, imports, model and LM loading, audio decoding, acoustic
model, greedy and beam search, report) and, from the report it writes, the beam search's own
time; both as multiples of real time (seconds of test audio over seconds taken). Reports the
median run, and the beam search's word errors in the utterances with a word outside the lexicon
and in the rest. Needs the checkpoint of `make demo`. Writes benchmarks/results/decode_speed.json.
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

from provenance import commit, machine

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "decode_speed.json")
    args = parser.parse_args()
    if not args.ckpt.is_file():
        raise SystemExit(f"{args.ckpt} does not exist: run `make demo` first")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):
            report_path = Path(tmp) / f"report{n}.json"
            command = [
                sys.executable,
                str(ROOT / "scripts" / "decode.py"),
                f"ckpt={args.ckpt}",
                f"report={report_path}",
                f"hydra.run.dir={tmp}/run{n}",
            ]
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            wall = time.perf_counter() - start
            report = json.loads(report_path.read_text())
            coverage = report["beam"].get("lexicon_coverage")
            runs.append(
                {
                    "wall_seconds": round(wall, 2),
                    "beam_seconds": round(report["beam"]["decode_seconds"], 3),
                    "acoustic_seconds": report["acoustic_seconds"],
                    "audio_seconds": report["audio_seconds"],
                    "utterances": report["utterances"],
                    "beam_wer": report["beam"]["wer"],
                }
            )
            print(f"run {n + 1}: {wall:.2f} s wall, beam search {runs[-1]['beam_seconds']:.2f} s", flush=True)
    audio = runs[0]["audio_seconds"]
    wall = statistics.median(r["wall_seconds"] for r in runs)
    beam = statistics.median(r["beam_seconds"] for r in runs)
    result = {
        "command": " ".join(["python", "benchmarks/decode_speed.py", *sys.argv[1:]]),
        "commit": commit(),
        "machine": machine(),
        "checkpoint": str(args.ckpt),
        "utterances": runs[0]["utterances"],
        "audio_seconds": audio,
        "median_wall_seconds": wall,
        "median_beam_seconds": beam,
        "whole_command_x_real_time": round(audio / wall, 1),
        "beam_search_x_real_time": round(audio / beam, 1),
        "beam_wer": runs[0]["beam_wer"],
        "lexicon_coverage": coverage,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{runs[0]['utterances']} utterances, {audio:.1f} s of audio: whole command {wall:.2f} s "
        f"({audio / wall:.0f}x real time), beam search alone {beam:.2f} s ({audio / beam:.0f}x real time)"
    )


if __name__ == "__main__":
    main()

"""Speed of the peephole LSTM stack against torch's fused LSTM (cuDNN on GPU, the CPU kernel here).

    python benchmarks/peephole_speed.py [--batch 24] [--frames 100] [--repeats 5]

Times one forward + backward pass of the default recurrent stack (3 bidirectional layers of 256,
input 240 = 80 mels x 3 stacked frames) on a demo-sized batch (24 utterances of 100 encoder
frames, about 3 s each, as 60 s batches give), for torch.nn.LSTM and for the peephole layer run
eagerly, with its time loop under TorchScript, and with its step under torch.compile (compiling
the whole loop unrolls it: a long compilation for every new sequence length, so it is not a
candidate). Prints a Markdown table, writes benchmarks/results/peephole_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from asr import cells
from asr.recurrent import RecurrentStack

ROOT = Path(__file__).resolve().parents[1]
EAGER_STEP, EAGER_LOOP = cells.peephole_step, cells.peephole_recurrence


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_stack(rnn_type: str, args: argparse.Namespace, device: torch.device) -> dict:
    torch.manual_seed(0)
    stack = RecurrentStack(240, rnn_type, 256, 3, True, 0.0).to(device)
    x = torch.randn(args.batch, args.frames, 240, device=device)
    lengths = torch.full((args.batch,), args.frames)

    def step() -> None:
        stack(x, lengths).square().mean().backward()
        _sync(device)

    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    step()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"first_call_s": round(first, 2), "ms_per_batch": round(1000 * statistics.median(times), 1)}


def variants() -> list[tuple[str, str, Callable[[], None]]]:
    """(name, rnn_type, how to install it): the peephole ones swap cells' step or loop function."""

    def eager() -> None:
        cells.peephole_step, cells.peephole_recurrence = EAGER_STEP, EAGER_LOOP

    def scripted_loop() -> None:
        eager()
        cells.peephole_recurrence = torch.jit.script(EAGER_LOOP)

    def compiled_step() -> None:
        eager()
        cells.peephole_step = torch.compile(EAGER_STEP, dynamic=True)

    return [
        ("torch.nn.LSTM", "lstm", eager),
        ("peephole, eager (what training uses)", "peephole_lstm", eager),
        ("peephole, TorchScript loop", "peephole_lstm", scripted_loop),
        ("peephole, torch.compile step", "peephole_lstm", compiled_step),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "peephole_speed.json")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    for name, rnn_type, install in variants():
        install()
        rows.append({"variant": name, **time_stack(rnn_type, args, device)})
    base = rows[0]["ms_per_batch"]
    for row in rows:
        row["relative_to_torch_lstm"] = round(row["ms_per_batch"] / base, 2)
    machine = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {torch.get_num_threads()} threads of {os.cpu_count()} cores"
    )
    describe = ["git", "describe", "--always", "--dirty"]
    commit = subprocess.run(describe, cwd=ROOT, capture_output=True, text=True)
    result = {
        "command": " ".join(["python", "benchmarks/peephole_speed.py", *sys.argv[1:]]),
        "commit": commit.stdout.strip(),
        "machine": f"{machine}, torch {torch.__version__}",
        "batch": args.batch,
        "frames": args.frames,
    }
    result["rows"] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['machine']}; forward + backward, 3x256 bidirectional, batch {args.batch} x {args.frames}")
    print("| variant | ms per batch | vs torch.nn.LSTM | first call (s) |\n|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['variant']} | {row['ms_per_batch']} | {row['relative_to_torch_lstm']}x "
            f"| {row['first_call_s']} |"
        )


if __name__ == "__main__":
    main()

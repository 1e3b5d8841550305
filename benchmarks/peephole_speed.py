"""Speed of the peephole LSTM stack against torch's fused LSTM (cuDNN on GPU, the CPU kernel here).

    python benchmarks/peephole_speed.py [--batch 24] [--frames 100] [--repeats 15]

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
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from provenance import commit, machine

from asr import cells
from asr.recurrent import RecurrentStack

ROOT = Path(__file__).resolve().parents[1]
EAGER_STEP, EAGER_LOOP = cells.peephole_step, cells.peephole_recurrence


def make_step(rnn_type: str, args: argparse.Namespace, device: torch.device) -> Callable[[], None]:
    """One forward + backward pass of a fresh stack on a fixed random batch."""
    torch.manual_seed(0)
    stack = RecurrentStack(240, rnn_type, 256, 3, True, 0.0).to(device)
    x = torch.randn(args.batch, args.frames, 240, device=device)
    lengths = torch.full((args.batch,), args.frames)

    def step() -> None:
        stack(x, lengths).square().mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def variants() -> list[tuple[str, str, tuple[Callable, Callable]]]:
    """(name, rnn_type, the step and loop functions the peephole layer is to use)."""
    compiled_step = torch.compile(EAGER_STEP, dynamic=True)
    return [
        ("torch.nn.LSTM", "lstm", (EAGER_STEP, EAGER_LOOP)),
        ("peephole, eager (what training uses)", "peephole_lstm", (EAGER_STEP, EAGER_LOOP)),
        ("peephole, TorchScript loop", "peephole_lstm", (EAGER_STEP, torch.jit.script(EAGER_LOOP))),
        ("peephole, torch.compile step", "peephole_lstm", (compiled_step, EAGER_LOOP)),
    ]


def measure(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Time the variants in turn, one pass each per round, so that drift in the machine's speed
    (frequency, neighbours) falls on all of them alike; the median over rounds is reported."""
    chosen = variants()
    steps, rows = [], []
    for name, rnn_type, functions in chosen:
        cells.peephole_step, cells.peephole_recurrence = functions
        steps.append(make_step(rnn_type, args, device))
        start = time.perf_counter()
        steps[-1]()
        rows.append({"variant": name, "first_call_s": round(time.perf_counter() - start, 2)})
        steps[-1]()
    times: list[list[float]] = [[] for _ in chosen]
    for _ in range(args.repeats):
        for index, (_, _, functions) in enumerate(chosen):
            cells.peephole_step, cells.peephole_recurrence = functions
            start = time.perf_counter()
            steps[index]()
            times[index].append(time.perf_counter() - start)
    for row, seconds in zip(rows, times, strict=True):
        row["ms_per_batch"] = round(1000 * statistics.median(seconds), 1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "peephole_speed.json")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = measure(args, device)
    base = rows[0]["ms_per_batch"]
    for row in rows:
        row["relative_to_torch_lstm"] = round(row["ms_per_batch"] / base, 2)
    threads = f"{torch.get_num_threads()} threads"
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else threads
    result = {
        "command": " ".join(["python", "benchmarks/peephole_speed.py", *sys.argv[1:]]),
        "commit": commit(),
        "machine": f"{machine()}, {device_name}",
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

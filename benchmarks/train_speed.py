"""CPU training speed of the default model: the full training step against the bare step.

    python benchmarks/train_speed.py [--steps 40] [--warmup 3] [--rounds 2]

The demo's own training, as `make demo` runs it (embedded corpus, generated into data/synthetic
first if needed, 60 s duration batches, its silence padding, the default 3x256 BiLSTM), through
Lightning for `--steps` steps after `--warmup`, and the bare step (`step_timing.py`: features,
SpecAugment, model, CTC, backward, clipping, AdamW on random waveforms of the same batch shapes),
for each `model.recurrence` (padded, what the CPU runs by default, and packed). The two alternate
`--rounds` times over the same batches (one seed) and the fastest round of each counts: on a
2-core machine one pass varies by 10% and more. Prints a Markdown table and writes
benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from omegaconf import OmegaConf
from provenance import write_result
from step_timing import bare_step, full_step, make_module, train_config

from asr.data.datamodule import data_settings
from asr.data.manifest import OnError

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_speed.json")
    args = parser.parse_args()
    rows = []
    print("| recurrence | bare step, audio s/s | full step, audio s/s | full / bare | waiting for data |")
    print("|---|---|---|---|---|")
    for recurrence in ("padded", "packed"):
        cfg = train_config([f"model.recurrence={recurrence}"])
        data = OmegaConf.to_container(cfg.data, resolve=True)
        data = data_settings(data, OnError.parse(data["on_error"], "data.on_error"))
        fulls, bares = [], []
        for _ in range(args.rounds):  # the same batches every round: one seed
            module = make_module(cfg, seed=cfg.seed)
            full, shapes = full_step(
                module, {**data, "seed": cfg.seed}, "32-true", "cpu", args.steps, args.warmup
            )
            fulls.append(full)
            bares.append(bare_step(make_module(cfg, seed=cfg.seed), shapes, "32-true", torch.device("cpu")))
        full = max(fulls, key=lambda m: m.audio_per_second)
        bare = max(bares, key=lambda m: m.audio_per_second)
        ratio = full.audio_per_second / bare.audio_per_second
        rows.append(
            {
                "recurrence": recurrence,
                "full": full.row(),
                "bare": bare.row(),
                "full_over_bare": round(ratio, 3),
            }
        )
        print(
            f"| {recurrence} | {bare.audio_per_second:.1f} | {full.audio_per_second:.1f} | {ratio:.2f} "
            f"| {full.idle_seconds / full.seconds:.1%} |",
            flush=True,
        )
    command = (
        f"python benchmarks/train_speed.py --steps {args.steps} --warmup {args.warmup} --rounds {args.rounds}"
    )
    write_result(args.out, command, threads=torch.get_num_threads(), rows=rows)


if __name__ == "__main__":
    main()

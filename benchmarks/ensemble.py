"""Ensembles of kept runs against their members, on one test manifest.

    python benchmarks/ensemble.py --manifest MANIFEST --tag TAG [--average N] RUN [RUN ...]

Each RUN is a training run's folder (holding checkpoints/best.ckpt; `benchmarks/fsdd.py --keep
DIR` leaves one under DIR/run, or under DIR/seedN with --seeds). Scores every member alone, then
the ensembles of the first 2, 3, ... members as `scripts/decode.py ckpt=[...]` does (frame
posteriors averaged), greedily and with the beam search (the first run's lexicon, LM and tuned
weights). With --average N each run counts as the average of its last N epochs' checkpoints
(`scripts/average.py`) instead of its best one. Prints Markdown rows and writes
benchmarks/results/ensemble-TAG.json with every hypothesis that differs from its reference.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from fsdd import errors, rates
from hydra import compose, initialize_config_dir
from provenance import write_result

from asr.averaging import average_run
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]


def score(ckpts: list[Path], manifest: Path, decoder: DecoderConfig) -> dict:
    report = evaluate(ckpts, manifest, decoder, device="cpu")
    return {"checkpoints": [str(c) for c in ckpts], **rates(report), "errors": errors(report)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--tag", required=True, help="results file: benchmarks/results/ensemble-TAG.json")
    parser.add_argument("--average", type=int, default=None, help="each run's last N epochs averaged")
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("give at least two runs")
    ckpts = [
        average_run(run / "checkpoints", args.average) if args.average else run / "checkpoints" / "best.ckpt"
        for run in args.runs
    ]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        decoder = DecoderConfig.from_cfg(compose("decode", ["ckpt=x"]).decoder)
    members = [score([ckpt], args.manifest, decoder) for ckpt in ckpts]
    ensembles = [score(ckpts[:k], args.manifest, decoder) for k in range(2, len(ckpts) + 1)]
    print("| models | greedy WER | beam WER | greedy CER | beam CER |\n|---|---:|---:|---:|---:|")
    for name, row in [
        *((f"run {n + 1}", m) for n, m in enumerate(members)),
        *((f"ensemble of {k + 2}", e) for k, e in enumerate(ensembles)),
    ]:
        rates = " | ".join(
            f"{100 * row[k]:.2f}%" for k in ("greedy_wer", "beam_wer", "greedy_cer", "beam_cer")
        )
        print(f"| {name} | {rates} |")
    write_result(
        ROOT / "benchmarks" / "results" / f"ensemble-{args.tag}.json",
        "python benchmarks/ensemble.py " + shlex.join(sys.argv[1:]),
        manifest=str(args.manifest),
        members=members,
        ensembles=ensembles,
    )


if __name__ == "__main__":
    main()

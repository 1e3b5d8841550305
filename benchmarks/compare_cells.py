"""LSTM, GRU, plain RNN, peephole LSTM, one or two directions, three front ends, an attention
decoder, on the embedded corpus.

    python benchmarks/compare_cells.py [--epochs 3] [--variants lstm,gru,...] [--out JSON] [override ...]

Variants: lstm (the default), lstm-uni, gru, rnn, peephole, conv, convlstm, ctc_attention (all by
default). Trains each
variant of the default model (3 recurrent layers of 256 per direction, frame stacking)
on the default synthetic corpus with the same budget: the same epochs over the same batches in the
same order, from the same seed. Each variant runs in its own process, so its peak memory is its
own, and the corpus is prepared before any of them. Reports parameters, training throughput
(seconds of audio per second of training epochs, validation excluded), peak memory (CUDA allocator
peak on a GPU; on CPU the process's peak RSS, and in the JSON its RSS before training began),
validation WER/CER of the best checkpoint, and the real-time factor of transcribing the 200
validation files on CPU (decode wall time / audio duration, audio loading included), all with
greedy decoding except ctc_attention, decoded by the joint CTC/attention search (`decoder=joint`;
its CTC branch's greedy WER/CER is in the JSON beside). Extra
arguments are Hydra overrides for every variant (`trainer=gpu` to train on a GPU). Prints a
Markdown table and writes benchmarks/results/compare_cells.json (or `--out`).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from provenance import commit, machine
from recipe import train_config

from asr.data.manifest import read_manifest
from asr.decoder_config import DecoderConfig
from asr.inference import Transcriber
from asr.metrics import error_report
from asr.text import CharTokenizer
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "lstm": ("bidirectional LSTM (default)", []),
    "lstm-uni": ("unidirectional LSTM", ["model.bidirectional=false"]),
    "gru": ("bidirectional GRU", ["model.rnn_type=gru"]),
    "rnn": ("bidirectional plain RNN (tanh)", ["model.rnn_type=rnn"]),
    "peephole": ("bidirectional peephole LSTM", ["model.rnn_type=peephole_lstm"]),
    "conv": ("bidirectional LSTM, conv front end", ["model.frontend=conv"]),
    "convlstm": ("bidirectional LSTM, ConvLSTM front end", ["model.frontend=convlstm"]),
    "ctc_attention": ("bidirectional LSTM + attention LSTM decoder, joint search", ["model=ctc_attention"]),
}
JOINT = DecoderConfig("joint", beam_size=10, ctc_weight=0.3)  # conf/decoder/joint.yaml's values
DEFAULT_VARIANTS = ",".join(VARIANTS)


def measure(name: str, epochs: int, overrides: list[str]) -> dict:
    """Train, score and time one variant in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = train_config(f"{tmp}/run", [f"trainer.max_epochs={epochs}", *VARIANTS[name][1], *overrides])
        start_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ckpt = train(cfg)
        summary = json.loads((Path(tmp) / "run" / "fit_summary.json").read_text())
        peak_mib = (
            torch.cuda.max_memory_allocated() / 2**20
            if torch.cuda.is_initialized()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        val = read_manifest(cfg.data.val_manifest, CharTokenizer(), check_audio=False)
        references, ids = [u.text for u in val], [str(u.audio_filepath) for u in val]
        joint = cfg.model.get("attention") is not None
        transcriber = Transcriber.from_checkpoint(ckpt, JOINT if joint else None, device="cpu")
        start = time.perf_counter()
        hypotheses = transcriber.transcribe_waves([u.load(transcriber.sample_rate) for u in val])
        decode_seconds = time.perf_counter() - start
        report = error_report(references, hypotheses, ids, 0)
        extra = {}
        if joint:
            greedy = Transcriber.from_checkpoint(ckpt, device="cpu")
            ctc_hypotheses = greedy.transcribe_waves([u.load(greedy.sample_rate) for u in val])
            ctc = error_report(references, ctc_hypotheses, ids, 0)
            extra = {"decoder": "joint", "ctc_greedy_val_wer": ctc["wer"], "ctc_greedy_val_cer": ctc["cer"]}
    return {
        "variant": VARIANTS[name][0],
        "overrides": VARIANTS[name][1],
        "params": summary["params"],
        "epochs": summary["epochs"],
        "train_seconds": summary["train_seconds"],
        "train_audio_per_second": round(
            summary["train_audio_seconds"] * summary["epochs"] / summary["train_seconds"], 1
        ),
        "peak_memory_mib": round(peak_mib),
        "peak_memory_kind": "CUDA allocated" if torch.cuda.is_initialized() else "process RSS",
        "rss_before_training_mib": round(start_rss_mib),
        "val_wer": report["wer"],
        "val_cer": report["cer"],
        "cpu_rtf": round(decode_seconds / sum(u.duration for u in val), 4),
        **extra,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| variant | params | train audio s/s | peak memory (MiB) | val WER | val CER | CPU RTF |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['params'] / 1e6:.2f} M | {r['train_audio_per_second']} "
            f"| {r['peak_memory_mib']} | {100 * r['val_wer']:.2f}% | {100 * r['val_cer']:.2f}% "
            f"| {r['cpu_rtf']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=", ".join(VARIANTS))
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compare_cells.json")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.one:
        args.result.write_text(json.dumps(measure(args.one, args.epochs, args.overrides)))
        return
    names = args.variants.split(",")
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}: choose from {', '.join(VARIANTS)}")
    prepare = [sys.executable, ROOT / "scripts" / "prepare_data.py", f"paths.root={ROOT}", *args.overrides]
    subprocess.run(prepare, check=True, cwd=ROOT)  # so no variant's time or memory includes it
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            result = Path(tmp) / f"{name}.json"
            one = ["--one", name, "--result", str(result), "--epochs", str(args.epochs)]
            subprocess.run([sys.executable, __file__, *one, "--", *args.overrides], check=True)
            rows.append(json.loads(result.read_text()))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    output = {
        "command": " ".join(["python", "benchmarks/compare_cells.py", *map(shlex.quote, sys.argv[1:])]),
        "commit": commit(),
        "machine": machine(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2) + "\n")
    print(f"{output['machine']}, commit {output['commit']}\n{table(rows)}")


if __name__ == "__main__":
    main()

"""Real-speech accuracy on the Free Spoken Digit Dataset (five speakers in ../shared/data/fsdd).

    python benchmarks/fsdd.py [--holdout SPEAKER] [--epochs N] [--budget-min M] [override ...]

Trains the default 3x256 BiLSTM on the official split (takes 5-49; validation = takes 5-6) within
a training-time budget, then scores the official test set (takes 0-4, 250 files). With
--holdout, one speaker's every take is the test set instead (leave-one-speaker-out). Extra
arguments are Hydra overrides of conf/train.yaml. Prints a Markdown row and writes
benchmarks/results/fsdd[-SPEAKER].json: WER, CER, training wall time and training throughput in
seconds of audio per second (all epochs' audio over the whole fit time, validation included).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from provenance import commit, machine

from asr.evaluation import evaluate
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    parser.add_argument("--holdout", default=None, help="speaker to hold out (leave-one-speaker-out)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--budget-min", type=float, default=10.0, help="training time cap in minutes")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [
            "data=fsdd",
            f"data.root={args.fsdd}",
            f"data.manifest_dir={tmp}/manifests",
            f"data.corpus.holdout_speaker={args.holdout or 'null'}",
            f"paths.root={tmp}",
            f"paths.output_dir={tmp}/run",
            f"trainer.max_epochs={args.epochs}",
            f"+trainer.max_time={{minutes: {args.budget_min}}}",
            "+trainer.enable_progress_bar=false",
            *args.overrides,
        ]
        with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("train", overrides=overrides)
        ckpt = train(cfg)
        metrics = json.loads((Path(tmp) / "run" / "fit_summary.json").read_text())
        train_seconds = metrics["fit_seconds"]
        report = evaluate(ckpt, cfg.data.test_manifest, device="cpu")
    audio_trained = metrics["train_audio_seconds"] * metrics["epochs"]
    result = {
        "command": " ".join(["python", "benchmarks/fsdd.py", *(shlex.quote(a) for a in sys.argv[1:])]),
        "commit": commit(),
        "split": f"leave-one-speaker-out ({args.holdout})" if args.holdout else "official (takes 0-4)",
        "machine": machine(),
        "params": metrics["params"],
        "epochs": metrics["epochs"],
        "train_wall_seconds": round(train_seconds, 1),
        "train_audio_per_second": round(audio_trained / train_seconds, 1),
        "test_utterances": report["utterances"],
        "wer": report["wer"],
        "cer": report["cer"],
        "errors": report["worst"],
    }
    out = ROOT / "benchmarks" / "results" / f"fsdd{'-' + args.holdout if args.holdout else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"| {result['split']} | {100 * result['wer']:.2f}% | {100 * result['cer']:.2f}% "
        f"| {result['test_utterances']} | {result['epochs']} | {train_seconds / 60:.1f} min "
        f"| {result['train_audio_per_second']} s/s | `{result['command']}` |"
    )


if __name__ == "__main__":
    main()

"""Checkpoint averaging on the demo: test WER of the best epoch, the last epoch and the averages
of the last N epochs, greedy and beam + LM.

    python benchmarks/averaging.py [--last 2 3 5]

Runs `make demo` in a fresh clone of HEAD (as benchmarks/demo.py does, so its wall time is a
second measurement of the demo), then averages the run's newest per-epoch checkpoints with
`asr.averaging.average_run` (what scripts/average.py does) and scores each checkpoint on the test
split as scripts/decode.py does: the beam search with the run's lexicon, LM and the weights
training tuned for its best checkpoint. Writes benchmarks/results/averaging.json and prints
Markdown rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from demo import make_demo
from hydra import compose, initialize_config_dir
from provenance import machine

from asr.averaging import average_run, epoch_checkpoints
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "averaging.json")
    args = parser.parse_args()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        decoder = DecoderConfig.from_cfg(compose("decode", ["ckpt=x"]).decoder)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clone, commit, wall = make_demo(Path(tmp))
        run = clone / "runs" / "demo"
        checkpoints = run / "checkpoints"
        test = clone / "data" / "synthetic" / "test.jsonl"
        summary = json.loads((run / "fit_summary.json").read_text())
        candidates = {"best": checkpoints / "best.ckpt", "last epoch": epoch_checkpoints(checkpoints)[-1]}
        for n in args.last:
            candidates[f"average of last {n}"] = average_run(
                checkpoints, n, checkpoints / f"averaged{n}.ckpt"
            )
        for name, ckpt in candidates.items():
            report = evaluate(ckpt, test, decoder, device="cpu")
            rows.append(
                {
                    "checkpoint": name,
                    "file": ckpt.name,
                    **{f"{d}_{k}": report[d][k] for d in ("greedy", "beam") for k in ("wer", "cer")},
                }
            )
            print(
                f"| {name} | {100 * rows[-1]['greedy_wer']:.2f}% | {100 * rows[-1]['beam_wer']:.2f}% "
                f"| {100 * rows[-1]['greedy_cer']:.2f}% | {100 * rows[-1]['beam_cer']:.2f}% |"
            )
    result = {
        "command": "python benchmarks/averaging.py --last " + " ".join(map(str, args.last)),
        "commit": commit,
        "machine": machine(),
        "make_demo_wall_seconds": round(wall, 1),
        "fit_seconds": summary["fit_seconds"],
        "best_checkpoint_val_wer": summary["best_val_wer"],
        "decoder": summary.get("decoder"),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Ensembles of kept runs against their members, on one test manifest.

    python benchmarks/ensemble.py --manifest MANIFEST --tag TAG [--average N] RUN [RUN ...]

Each RUN is a training run's folder (holding checkpoints/best.ckpt; `benchmarks/fsdd.py --keep
DIR` leaves one under DIR/run, or under DIR/seedN with --seeds). Scores every member alone, then
the ensembles of the first 2, 3, ... members as `scripts/decode.py ckpt=[...]` does (frame
posteriors averaged), greedily and with the beam search (the first run's lexicon, LM and tuned
weights). With --average N each run counts as the average of its last N epochs' checkpoints
(`scripts/average.py`) instead of its best one. Prints Markdown rows and writes
benchmarks/results/ensemble-TAG.json with every hypothesis that differs from its reference.

    python benchmarks/ensemble.py --mean-of TAG

gathers the runs of every FSDD speaker tagged SPEAKER-TAG (ensemble-SPEAKER-TAG.json, one
leave-one-speaker-out model set per speaker) into ensemble-loso-TAG.json: each member's and each
ensemble's mean over the speakers, a recipe's LOSO figure as `benchmarks/fsdd.py --mean-of` gives.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from fsdd import errors, rates, speakers
from hydra import compose, initialize_config_dir
from provenance import write_result

from asr.averaging import average_run
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KEYS = ("greedy_wer", "beam_wer", "greedy_cer", "beam_cer")


def score(ckpts: list[Path], manifest: Path, decoder: DecoderConfig) -> dict:
    report = evaluate(ckpts, manifest, decoder, device="cpu")
    return {"checkpoints": [str(c) for c in ckpts], **rates(report), "errors": errors(report)}


def gather(tag: str, names: list[str]) -> dict:
    """The mean over the speakers `names` of each member's and each ensemble's rates, from the
    ensemble-SPEAKER-TAG.json of each: one figure per model set, as a LOSO benchmark reports."""
    results = []
    for speaker in names:
        path = RESULTS / f"ensemble-{speaker}-{tag}.json"
        if not path.is_file():
            raise SystemExit(
                f"{path} does not exist: run `python benchmarks/ensemble.py --tag {speaker}-{tag} ...` first"
            )
        results.append(json.loads(path.read_text()))
    if len({len(r["members"]) for r in results}) != 1:
        raise SystemExit(f"the speakers' ensemble-*-{tag}.json have different numbers of members")

    def mean(field: str, index: int) -> dict:
        return {k: sum(r[field][index][k] for r in results) / len(results) for k in KEYS}

    count = len(results[0]["members"])
    return {
        "speakers": names,
        "members": [mean("members", i) for i in range(count)],
        "ensembles": [mean("ensembles", i) for i in range(count - 1)],
    }


def print_table(members: list[dict], ensembles: list[dict]) -> None:
    print("| models | greedy WER | beam WER | greedy CER | beam CER |\n|---|---:|---:|---:|---:|")
    for name, row in [
        *((f"run {n + 1}", m) for n, m in enumerate(members)),
        *((f"ensemble of {k + 2}", e) for k, e in enumerate(ensembles)),
    ]:
        print(f"| {name} | " + " | ".join(f"{100 * row[k]:.2f}%" for k in KEYS) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--tag", help="results file: benchmarks/results/ensemble-TAG.json")
    parser.add_argument("--average", type=int, default=None, help="each run's last N epochs averaged")
    parser.add_argument("--mean-of", metavar="TAG", help="gather every FSDD speaker's SPEAKER-TAG result")
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    parser.add_argument("runs", type=Path, nargs="*")
    args = parser.parse_args()
    command = "python benchmarks/ensemble.py " + shlex.join(sys.argv[1:])
    if args.mean_of:
        result = gather(args.mean_of, speakers(args.fsdd))
        print_table(result["members"], result["ensembles"])
        write_result(RESULTS / f"ensemble-loso-{args.mean_of}.json", command, **result)
        return
    if not (args.manifest and args.tag) or len(args.runs) < 2:
        parser.error("give --manifest, --tag and at least two runs (or --mean-of TAG)")
    ckpts = [
        average_run(run / "checkpoints", args.average) if args.average else run / "checkpoints" / "best.ckpt"
        for run in args.runs
    ]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        decoder = DecoderConfig.from_cfg(compose("decode", ["ckpt=x"]).decoder)
    members = [score([ckpt], args.manifest, decoder) for ckpt in ckpts]
    ensembles = [score(ckpts[:k], args.manifest, decoder) for k in range(2, len(ckpts) + 1)]
    print_table(members, ensembles)
    write_result(
        RESULTS / f"ensemble-{args.tag}.json",
        command,
        manifest=str(args.manifest),
        members=members,
        ensembles=ensembles,
    )


if __name__ == "__main__":
    main()

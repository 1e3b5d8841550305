"""A speaker never heard, adapted to from their own recordings without their transcripts: the
model's confident hypotheses on some of their takes become training labels, and the adapted model
is scored on takes it has not seen.

    python benchmarks/speaker_adapt.py --result benchmarks/results/fsdd-SPEAKER-TAG.json
                                       [--epochs 10] [--weight 2.0] [--labels agreed|beam|none]
                                       [--enroll N] [--enroll-weight 10.0] [--tag T]
    python benchmarks/speaker_adapt.py --mean-of T

The result is one `python benchmarks/fsdd.py --holdout SPEAKER --keep DIR ...` run's: its command
gives the recipe (read back through fsdd.py's own arguments) and DIR the kept run
(DIR/run/checkpoints/best.ckpt; DIR/manifests/test.jsonl, the held-out speaker's every take). The
speaker's takes are split by parity (even, odd). For each half in turn, that half is decoded by the
kept model with the run's beam search, and its hypotheses (`--labels agreed`: only where greedy
and beam decoding agree, a confidence test that needs no transcript; `beam`: every one) join the
recipe's training corpora at sampling weight `--weight`; training resumes from the kept model's
weights for `--epochs` epochs by the recipe (its validation, the training speakers' takes, picks
the checkpoint and tunes the decoder). The adapted model is scored on the other half, takes whose
audio adaptation never saw (`unheard`), and on its own half (`own`, transductive), both greedily
and with its beam search; the kept model on each half alone beside it (`as_trained`: speaker
means over the half, as the adapted model is scored). The transcripts are read only to score and
to count how many pseudo-labels were wrong, except with `--enroll N`: then each digit's first N
takes of the half adapted on join training with their transcripts, at `--enroll-weight`, as a user
who said each word N times on enrolling would give them (the rest of the half pseudo-labelled as
before, or not at all with `--labels none`); the speaker is then no longer unheard. Writes
benchmarks/results/speaker-adapt-SPEAKER[-TAG].json; --mean-of T gathers every speaker's into
speaker-adapt-loso-T.json with the means over the speakers.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from fsdd import arguments, joined_corpus, rates, run_config, speakers, train_one
from provenance import write_result

from asr.data.corpora.fsdd import NAME
from asr.data.manifest import Utterance, read_manifest, write_manifest
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate
from asr.text import CharTokenizer

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("greedy_wer", "beam_wer", "greedy_cer", "beam_cer")
NONE = (None, None, None)  # run_config's average, joined corpus and seed: the recipe's own


def kept_run(result: Path) -> argparse.Namespace:
    """The fsdd.py arguments of the run that wrote `result`, which must have kept one speaker's run."""
    words = shlex.split(json.loads(result.read_text())["command"])
    args = arguments().parse_args(words[2:])
    if not args.holdout or not args.keep or args.seeds:
        raise SystemExit(f"{result}: adapt a run of `fsdd.py --holdout SPEAKER --keep DIR` with one seed")
    args.keep = args.keep if args.keep.is_absolute() else ROOT / args.keep
    return args


def take(utterance: Utterance) -> int:
    return int(NAME.match(utterance.audio_filepath.name).group(3))


def digit(utterance: Utterance) -> str:
    return NAME.match(utterance.audio_filepath.name).group(1)


def pseudo_labelled(rows: list[Utterance], report: dict, labels: str) -> tuple[list[Utterance], int]:
    """`rows` with the report's beam hypotheses for transcripts (with `labels == "agreed"`, only
    those the greedy decoding agrees with; never an empty one), and how many of them are wrong."""
    hypotheses = {Path(h["id"]).name: h for h in report["hypotheses"]}
    out, wrong = [], 0
    for row in rows:
        h = hypotheses.get(row.audio_filepath.name)
        if h is None or not h["beam"] or (labels == "agreed" and h["greedy"] != h["beam"]):
            continue
        out.append(replace(row, text=h["beam"]))
        wrong += h["beam"] != h["reference"]
    return out, wrong


@dataclass(frozen=True)
class Plan:
    """How a speaker is adapted to: the command line's adaptation options."""

    epochs: int
    weight: float
    labels: str  # agreed, beam, or none
    enroll: int
    enroll_weight: float
    tag: str


def enrollment(rows: list[Utterance], per_digit: int) -> list[Utterance]:
    """The first `per_digit` takes of each digit in `rows` (lowest take numbers), transcripts kept:
    what a user who said each word that many times on enrolling would have given."""
    chosen: list[Utterance] = []
    for word in sorted({digit(r) for r in rows}):
        chosen += sorted((r for r in rows if digit(r) == word), key=take)[:per_digit]
    return chosen


def adapt(args: argparse.Namespace, plan: Plan) -> dict:
    """Both halves of the held-out speaker adapted to in turn and scored (the module's docstring)."""
    keep, best = args.keep, args.keep / "run" / "checkpoints" / "best.ckpt"
    base = run_config(
        args.fsdd, args.holdout, keep, keep / "run", args.epochs, args.budget_min, args.overrides, *NONE
    )
    decoder = DecoderConfig.from_cfg(base.decoder)
    test = Path(base.data.test_manifest)
    report = evaluate(best, test, decoder, device="cpu")
    rows = read_manifest(test, CharTokenizer(), check_audio=False)
    joined = joined_corpus(args)
    corpora = [str(keep / "manifests" / "train.jsonl"), *([str(joined[0])] if joined else [])]
    weights = [1.0, *([joined[1]] if joined else [])]
    folds = []
    for parity, name in ((0, "even"), (1, "odd")):
        folder = keep / f"adapt{'-' + plan.tag if plan.tag else ''}" / name
        own = [r for r in rows if take(r) % 2 == parity]
        unheard = [r for r in rows if take(r) % 2 != parity]
        enrolled = enrollment(own, plan.enroll)
        unlabelled = [r for r in own if r not in enrolled]
        labelled, wrong = (
            ([], 0) if plan.labels == "none" else pseudo_labelled(unlabelled, report, plan.labels)
        )
        if not labelled and not enrolled:
            raise SystemExit(
                f"{best} decodes none of {args.holdout}'s {name} takes to a word, and none are enrolled "
                "(--enroll): nothing to adapt to"
            )
        manifests = {
            "own": write_manifest(folder / "own.jsonl", own),
            "unheard": write_manifest(folder / "unheard.jsonl", unheard),
        }
        added = {
            write_manifest(folder / f"{part}.jsonl", utterances): w
            for part, utterances, w in [
                ("pseudo", labelled, plan.weight),
                ("enrolled", enrolled, plan.enroll_weight),
            ]
            if utterances
        }
        extra = [
            *args.overrides,
            f"init_from={best}",
            "data.train_manifest=[" + ",".join(f"'{c}'" for c in [*corpora, *added]) + "]",
            "data.train_weights=[" + ",".join(str(w) for w in [*weights, *added.values()]) + "]",
        ]
        cfg = run_config(
            args.fsdd, args.holdout, keep, folder / "run", plan.epochs, args.budget_min, extra, *NONE
        )
        ckpt, metrics = train_one(cfg)
        adapted = DecoderConfig.from_cfg(cfg.decoder)
        folds.append(
            {
                "adapted_on": f"{name} takes",
                "pseudo_labels": len(labelled),
                "pseudo_labels_wrong": wrong,
                "enrolled": len(enrolled),
                "epochs": metrics["epochs"],
                "train_wall_seconds": round(metrics["fit_seconds"], 1),
                "as_trained_unheard": rates(evaluate(best, manifests["unheard"], decoder, device="cpu")),
                "unheard": rates(evaluate(ckpt, manifests["unheard"], adapted, device="cpu")),
                "own": rates(evaluate(ckpt, manifests["own"], adapted, device="cpu")),
            }
        )
    return {
        "speaker": args.holdout,
        "as_trained": rates(report),
        **{
            part: {k: sum(f[part][k] for f in folds) / len(folds) for k in KEYS}
            for part in ("as_trained_unheard", "unheard", "own")
        },
        "folds": folds,
    }


def gather(tag: str) -> dict:
    """Every speaker's result tagged `tag`, and the means over them."""
    runs = []
    for speaker in speakers(ROOT.parent / "shared" / "data" / "fsdd"):
        done = ROOT / "benchmarks" / "results" / f"speaker-adapt-{speaker}-{tag}.json"
        if not done.is_file():
            raise SystemExit(f"{done} does not exist: run speaker_adapt.py --result ... --tag {tag} first")
        runs.append(json.loads(done.read_text()))
    parts = ("as_trained", "as_trained_unheard", "unheard", "own")
    mean = {part: {k: sum(r[part][k] for r in runs) / len(runs) for k in KEYS} for part in parts}
    return {"speakers": runs, "mean": mean}


def row(name: str, result: dict) -> str:
    cells = [result[part]["beam_wer"] for part in ("as_trained", "as_trained_unheard", "unheard", "own")]
    return f"| {name} | " + " | ".join(f"{100 * c:.2f}%" for c in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--result", type=Path, help="a kept `fsdd.py --holdout SPEAKER --keep DIR` run's result"
    )
    group.add_argument("--mean-of", metavar="TAG", help="gather every speaker's result tagged TAG")
    parser.add_argument("--epochs", type=int, default=10, help="adaptation epochs")
    parser.add_argument(
        "--weight", type=float, default=2.0, help="the pseudo-labelled takes' sampling weight"
    )
    parser.add_argument("--labels", choices=("agreed", "beam", "none"), default="agreed")
    parser.add_argument(
        "--enroll", type=int, default=0, help="takes per digit of the half adapted on given with transcripts"
    )
    parser.add_argument(
        "--enroll-weight", type=float, default=10.0, help="the enrolled takes' sampling weight"
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    command = " ".join(["python", "benchmarks/speaker_adapt.py", *(shlex.quote(a) for a in sys.argv[1:])])
    results = ROOT / "benchmarks" / "results"
    if args.mean_of:
        result = gather(args.mean_of)
        for run in result["speakers"]:
            print(row(run["speaker"], run))
        print(row("mean", result["mean"]))
        write_result(results / f"speaker-adapt-loso-{args.mean_of}.json", command, **result)
        return
    kept = kept_run(args.result)
    if args.enroll < 0:
        parser.error(f"--enroll counts takes per digit: 0 or more, not {args.enroll}")
    if args.labels == "none" and not args.enroll:
        parser.error("--labels none adapts on enrolled takes only: give --enroll N")
    plan = Plan(args.epochs, args.weight, args.labels, args.enroll, args.enroll_weight, args.tag)
    result = adapt(kept, plan)
    print(row(kept.holdout, result))
    name = f"speaker-adapt-{kept.holdout}{'-' + args.tag if args.tag else ''}.json"
    write_result(
        results / name, command, recipe=str(args.result), labels=args.labels, enroll=args.enroll, **result
    )


if __name__ == "__main__":
    main()

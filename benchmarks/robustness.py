"""Speech from a synthesizer the model never trained on: the embedded corpus's test sentences
spoken by Flite, scored with a checkpoint.

    python benchmarks/robustness.py [--ckpt runs/demo/checkpoints/best.ckpt] [--decoder beam]
                                    [--train] [--tag TAG] [override ...]

The held-out synthesizer is Flite (Debian package `flite`: `apt-get install flite`), whose
voices are built into the binary; the embedded corpus is eSpeak NG's voices, Piper's joe and,
where installed, Festival's ked_diphone (none of Flite's speakers), so none of this is in
training. Each sentence of data/synthetic/test.jsonl (the demo's test split; with --train, the
test split of the corpus training used) is spoken by one of Flite's 16 kHz voices in
turn (kal16, awb, rms, slt), written once under data/heldout-flite/ with
its manifest, and scored by `asr.evaluation.evaluate` (greedy, and the decoder given). Reports
WER and CER overall and per voice. Where the Free Spoken Digit Dataset is (--fsdd, default
../shared/data/fsdd), also real speech: its official test split (250 takes of ten digits by five
speakers, none of whom the model heard), scored the same way. Writes
benchmarks/results/robustness[-TAG].json.

With --train, or with overrides (a lever to measure: `data.speed_perturb=[0.9,1.0,1.1]`, a wider
voice range...), it first trains the demo's recipe (`make demo`'s `train.py`, with those Hydra
overrides) into runs/robustness-TAG and scores that checkpoint instead of --ckpt.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from provenance import write_result
from recipe import train_config

from asr.data.corpora.fsdd import import_fsdd
from asr.data.manifest import Utterance, write_manifest
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate
from asr.metrics import error_report
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]
VOICES = ("kal16", "awb", "rms", "slt")  # Flite's built-in 16 kHz voices


def speak(sentences: list[str], folder: Path) -> Path:
    """Each sentence as a WAV by the next Flite voice (spoken once and kept), and their manifest,
    each row naming its voice as its speaker."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, text in enumerate(sentences):
        voice = VOICES[index % len(VOICES)]
        path = folder / f"{index:06d}_{voice}.wav"
        if not path.is_file():
            flite = shutil.which("flite")
            if flite is None:
                raise SystemExit("the held-out synthesizer is Flite: apt-get install flite")
            subprocess.run([flite, "-voice", voice, "-t", text, "-o", str(path)], check=True)
        rows.append(Utterance(path.resolve(), sf.info(str(path)).duration, text, speaker=voice))
    manifest = folder / "test.jsonl"
    write_manifest(manifest, rows)
    return manifest


def train_lever(tag: str, overrides: list[str]) -> tuple[Path, Path]:
    """The checkpoint, and the test manifest of the corpus it trained on: an override may move the
    corpus (`data.root=...`, so that two levers can train side by side), and Flite speaks that
    corpus's test sentences."""
    cfg = train_config(ROOT / "runs" / f"robustness-{tag}", overrides)
    return train(cfg), Path(cfg.data.test_manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--decoder", default="beam", help="a conf/decoder option: greedy, beam, joint")
    parser.add_argument("--train", action="store_true", help="train the demo's recipe first")
    parser.add_argument("--fsdd", type=Path, default=ROOT.parent / "shared" / "data" / "fsdd")
    parser.add_argument("--tag", default="")
    parser.add_argument("overrides", nargs="*", help="train the demo's recipe with these first")
    args = parser.parse_args()
    lever, test = {}, None
    if args.overrides or args.train:
        if not args.tag:
            parser.error("a training run needs --tag: its run and result are named by it")
        args.ckpt, test = train_lever(args.tag, args.overrides)
        summary = json.loads((args.ckpt.parents[1] / "fit_summary.json").read_text())
        lever = {"lever_val_wer": summary["best_val_wer"], "lever_fit_seconds": summary["fit_seconds"]}
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        overrides = [f"ckpt={args.ckpt}", f"paths.root={ROOT}", f"decoder={args.decoder}"]
        cfg = compose("decode", overrides=overrides)
    test = test or Path(cfg.data.test_manifest)
    sentences = [json.loads(line)["text"] for line in test.read_text().splitlines() if line.strip()]
    manifest = speak(sentences, ROOT / "data" / "heldout-flite")
    decoder = DecoderConfig.from_cfg(cfg.decoder)
    report = evaluate(args.ckpt, manifest, decoder, device="cpu", worst=0)
    final = report["decoder"]
    per_voice = {}
    for voice in VOICES:
        rows = [h for h in report["hypotheses"] if Path(h["id"]).stem.endswith(voice)]
        references, hypotheses = [h["reference"] for h in rows], [h[final] for h in rows]
        scored = error_report(references, hypotheses, [h["id"] for h in rows], 0)
        per_voice[voice] = {"utterances": len(rows), "wer": scored["wer"], "cer": scored["cer"]}
    result = {
        "checkpoint": str(args.ckpt),
        "training_overrides": args.overrides,
        "synthesizer": f"Flite ({', '.join(VOICES)})",
        "utterances": report["utterances"],
        "decoder": final,
        **{f"{name}_{key}": report[name][key] for name in ("greedy", final) for key in ("wer", "cer")},
        "per_voice": per_voice,
        **lever,
    }
    if args.fsdd.is_dir():
        digits = import_fsdd(args.fsdd, ROOT / "data" / "heldout-fsdd")["test"]
        spoken = evaluate(args.ckpt, digits, decoder, device="cpu", worst=0)
        result["fsdd_test"] = {
            "utterances": spoken["utterances"],
            **{f"{name}_{key}": spoken[name][key] for name in ("greedy", final) for key in ("wer", "cer")},
        }
    command = " ".join(["python", "benchmarks/robustness.py", *map(shlex.quote, sys.argv[1:])])
    out = ROOT / "benchmarks" / "results" / f"robustness{'-' + args.tag if args.tag else ''}.json"
    write_result(out, command, **result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

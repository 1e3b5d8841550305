"""What the attention decoder buys at decoding: a model=ctc_attention checkpoint on the default
corpus's test split, decoded greedily (its CTC branch), by the beam search with the run's lexicon
and LM, and by the joint CTC/attention search for each CTC weight λ (λ = 0: the attention decoder
alone), on the test utterances as they are and joined into long ones.

    python benchmarks/joint_decoding.py [--epochs 10 | --ckpt PATH] [--weights 0,0.3,0.5,0.7]
                                        [--beam 10] [--join 6] [--out JSON] [override ...]

Without --ckpt it trains `model=ctc_attention` for --epochs on the default corpus first (extra
arguments are Hydra overrides of that training) and keeps the run under runs/joint_decoding.
"Long" joins every --join consecutive test utterances with 0.3 s of silence into one (about
14 s with 6, 2.7 times the longest training utterance): an attention decoder on its own
there tends to stop early or repeat itself, which the CTC term is there to prevent. Reports WER,
CER, deletions and insertions (what cutting and looping show as) and the decoding real-time
factor on CPU (search only; the acoustic model runs once per set). Writes
benchmarks/results/joint_decoding.json.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from provenance import write_result
from recipe import train_config

from asr.data.manifest import read_manifest
from asr.decoder_config import DecoderConfig, build_decoder
from asr.evaluation import AcousticPass, acoustic_pass, score
from asr.inference import Transcriber
from asr.joint_search import JointDecoder, JointSettings
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]
PAUSE = 0.3


def train_model(epochs: int, overrides: list[str]) -> Path:
    run = ROOT / "runs" / "joint_decoding"
    return train(train_config(run, ["model=ctc_attention", f"trainer.max_epochs={epochs}", *overrides]))


def joined(transcriber: Transcriber, manifest: Path, group: int) -> AcousticPass:
    """The test utterances joined `group` at a time with silence: one long utterance each."""
    rows = read_manifest(manifest, transcriber.tokenizer)
    gap = np.zeros(int(PAUSE * transcriber.sample_rate), dtype=np.float32)
    waves, references, ids = [], [], []
    for start in range(0, len(rows) - group + 1, group):
        part = rows[start : start + group]
        pieces = [piece for row in part for piece in (row.load(transcriber.sample_rate), gap)]
        waves.append(np.concatenate(pieces[:-1]))
        references.append(" ".join(row.text for row in part))
        ids.append(f"{part[0].label} +{group - 1}")
    begin = time.perf_counter()
    outputs = transcriber.outputs(waves, states=True)
    seconds = time.perf_counter() - begin
    audio = sum(len(w) for w in waves) / transcriber.sample_rate
    return AcousticPass(
        [lp for lp, _ in outputs], references, ids, audio, seconds, [states for _, states in outputs]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--weights", default="0,0.3,0.5,0.7", help="CTC weights λ of the joint search")
    parser.add_argument("--beam", type=int, default=10)
    parser.add_argument("--join", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "joint_decoding.json")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    ckpt = args.ckpt or train_model(args.epochs, args.overrides)
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("decode", overrides=[f"ckpt={ckpt}", f"paths.root={ROOT}"])
    transcriber = Transcriber.from_checkpoint(ckpt, device="cpu")
    tokenizer, attention = transcriber.tokenizer, transcriber.runner.attention
    decoders = {
        "greedy (CTC)": build_decoder(DecoderConfig("greedy"), ckpt, tokenizer),
        "beam + lexicon + LM (CTC)": build_decoder(DecoderConfig.from_cfg(cfg.decoder), ckpt, tokenizer),
    }
    for weight in (float(w) for w in args.weights.split(",")):
        name = f"joint λ={weight:g}" + (" (attention alone)" if weight == 0 else "")
        decoders[name] = JointDecoder(tokenizer, attention, JointSettings(args.beam, weight))
    sets = {
        "test": acoustic_pass(transcriber, cfg.data.test_manifest, states=True),
        f"test joined {args.join} at a time": joined(transcriber, Path(cfg.data.test_manifest), args.join),
    }
    rows = []
    for set_name, data in sets.items():
        for name, decoder in decoders.items():
            report, _ = score(decoder, data, worst=0)
            rows.append(
                {
                    "set": set_name,
                    "utterances": len(data.references),
                    "seconds_each": round(data.audio_seconds / len(data.references), 1),
                    "decoder": name,
                    **{k: report[k] for k in ("wer", "cer", "deletions", "insertions", "reference_words")},
                    "decode_real_time_factor": round(report["decode_real_time_factor"], 4),
                }
            )
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    command = " ".join(["python", "benchmarks/joint_decoding.py", *map(shlex.quote, sys.argv[1:])])
    write_result(args.out, command, checkpoint=str(ckpt), rows=rows)
    print(table(rows))


def table(rows: list[dict]) -> str:
    lines = [
        "| set | decoder | WER | CER | deletions | insertions | CPU decoding RTF |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        where = f"{r['set']} ({r['utterances']} x {r['seconds_each']} s)"
        lines.append(
            f"| {where} | {r['decoder']} | {100 * r['wer']:.2f}% | {100 * r['cer']:.2f}% "
            f"| {r['deletions']} | {r['insertions']} | {r['decode_real_time_factor']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

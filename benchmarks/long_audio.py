"""Long recordings: WER, peak memory and speed of one long file against its utterances one by one.

    python benchmarks/long_audio.py [--ckpt runs/demo/checkpoints/best.ckpt] [--minutes 10 60]

Joins the demo's test utterances (data/synthetic/test.jsonl, in order, cycling) with --pause
seconds of silence into one 16 kHz file per --minutes value, and transcribes each in a fresh
process (the Transcriber with the run's beam search, lexicon and LM: what `scripts/transcribe.py`
does), recording its wall time and peak resident memory (ru_maxrss of that process). The baseline
is the same utterances transcribed one by one as whole files (the path `scripts/decode.py`
scores). WER of the long file is jiwer's over the joined reference. Needs the checkpoint of
`make demo`. Writes benchmarks/results/long_audio.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf
from hydra import compose, initialize_config_dir
from provenance import commit, machine

from asr.data.audio import load_audio
from asr.decoder_config import DecoderConfig
from asr.inference import Transcriber

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000


def build(manifest: Path, minutes: float, pause: float, out: Path) -> list[str]:
    """Write the long file to `out`; return the references of the utterances in it, in order."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    gap = np.zeros(int(pause * RATE), dtype=np.int16)
    texts, total = [], 0
    with sf.SoundFile(str(out), "w", RATE, 1, subtype="PCM_16") as f:
        while total < minutes * 60 * RATE:
            row = rows[len(texts) % len(rows)]
            audio, rate = sf.read(str(manifest.parent / row["audio_filepath"]), dtype="int16")
            assert rate == RATE, f"{row['audio_filepath']} is not {RATE} Hz"
            f.write(np.concatenate([audio, gap]))
            texts.append(row["text"])
            total += len(audio) + len(gap)
    return texts


def command_transcriber(ckpt: Path) -> Transcriber:
    """The transcriber `scripts/transcribe.py` builds by default (beam search with the run's lexicon,
    LM and tuned weights), on the CPU: what the transcription benchmarks measure."""
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        decoder = compose("transcribe", overrides=["ckpt=x", "audio=x"]).decoder
    return Transcriber.from_checkpoint(ckpt, DecoderConfig.from_cfg(decoder), device="cpu")


def child(ckpt: Path, audio: Path) -> None:
    """In a fresh process: load, transcribe the one file, print its transcript and timings as JSON."""
    start = time.perf_counter()
    transcriber = command_transcriber(ckpt)
    loaded = time.perf_counter()
    (result,) = transcriber.transcribe([audio])
    done = time.perf_counter()
    print(
        json.dumps({"text": result.text, "load_seconds": loaded - start, "transcribe_seconds": done - loaded})
    )


def measure(ckpt: Path, audio: Path) -> dict:
    """Run `child` in a new interpreter; its output and its own peak RSS."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(audio), "--ckpt", str(ckpt)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"transcribing {audio} failed ({status})")
    return {**json.loads(out), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def one_by_one(ckpt: Path, manifest: Path, count: int) -> list[str]:
    """The first `count` utterances of the cycle `build` writes, each transcribed as a whole file."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    transcriber = command_transcriber(ckpt)
    distinct = min(count, len(rows))
    waves = [
        load_audio(manifest.parent / r["audio_filepath"], transcriber.sample_rate) for r in rows[:distinct]
    ]
    hyps = transcriber.transcribe_waves(waves)
    return [hyps[k % distinct] for k in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--manifest", type=Path, default=ROOT / "data" / "synthetic" / "test.jsonl")
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--pause", type=float, default=0.5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "long_audio.json")
    args = parser.parse_args()
    if args.child:
        child(args.ckpt, args.child)
        return
    if not args.ckpt.is_file():
        raise SystemExit(f"{args.ckpt} does not exist: run `make demo` first")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            audio = Path(tmp) / f"long_{minutes:g}min.wav"
            refs = build(args.manifest, minutes, args.pause, audio)
            seconds = sf.info(str(audio)).duration
            result = measure(args.ckpt, audio)
            hyps = one_by_one(args.ckpt, args.manifest, len(refs))
            long_wer = jiwer.wer(" ".join(refs), result["text"])
            utterance_wer = jiwer.wer(refs, hyps)
            runs.append(
                {
                    "minutes": minutes,
                    "audio_seconds": round(seconds, 1),
                    "utterances": len(refs),
                    "long_file_wer": round(long_wer, 4),
                    "one_by_one_wer": round(utterance_wer, 4),
                    "wer_difference_points": round(100 * (long_wer - utterance_wer), 2),
                    "peak_rss_mb": result["peak_rss_mb"],
                    "load_seconds": round(result["load_seconds"], 2),
                    "transcribe_seconds": round(result["transcribe_seconds"], 1),
                    "real_time_factor": round(result["transcribe_seconds"] / seconds, 4),
                }
            )
            print(json.dumps(runs[-1]))
    record = {
        "commit": commit(),
        "machine": machine(),
        "checkpoint": str(args.ckpt),
        "pause": args.pause,
        "runs": runs,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

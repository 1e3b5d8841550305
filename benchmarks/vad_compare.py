"""The energy segmenter against Silero VAD, a maintained VAD whose model ships inside its wheel.

    pip install --no-deps silero-vad      # its model is inside the wheel; torch is already here
    python benchmarks/vad_compare.py [--ckpt runs/demo/checkpoints/best.ckpt] [--minutes 10]

Builds the long file of `benchmarks/long_audio.py` (the demo's test utterances joined with 0.5 s of
silence), once as it is and once with Gaussian noise at --snr dB added throughout, and segments
each with `asr.segment` (the transcriber's defaults) and with Silero VAD (`get_speech_timestamps`,
0.3 s minimum silence and 0.2 s padding like ours, 20 s maximum). For each: the number of segments,
how much of Silero's speech (its segments less their padding) the segments cover, how many
segment ends fall inside it (a cut through a word, or speech one detector hears and the other not),
and the long file's WER when the demo model (beam + LM) transcribes each method's segments.
Writes benchmarks/results/vad_compare.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf
import torch
from long_audio import build, command_transcriber
from provenance import commit, machine
from silero_vad import get_speech_timestamps, load_silero_vad

from asr.inference import Transcriber
from asr.segment import SegmentConfig, speech_segments

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
FRAME = 0.01


def ours(path: Path) -> list[tuple[float, float]]:
    return [(s.start, s.start + s.duration) for s in speech_segments(path, SegmentConfig())]


def silero(audio: np.ndarray) -> list[tuple[float, float]]:
    cfg = SegmentConfig()
    spans = get_speech_timestamps(
        torch.from_numpy(audio),
        load_silero_vad(),
        sampling_rate=RATE,
        min_silence_duration_ms=int(1000 * cfg.min_silence),
        speech_pad_ms=int(1000 * cfg.pad),
        max_speech_duration_s=cfg.max_seconds,
        return_seconds=True,
        time_resolution=3,
    )
    return [(s["start"], s["end"]) for s in spans]


def frames(spans: list[tuple[float, float]], total: float) -> np.ndarray:
    mask = np.zeros(int(total / FRAME) + 1, dtype=bool)
    for start, end in spans:
        mask[int(start / FRAME) : int(end / FRAME)] = True
    return mask


def compare(audio: np.ndarray, path: Path, refs: list[str], transcriber: Transcriber) -> dict:
    total = len(audio) / RATE
    result = {}
    spans = {"energy (ours)": ours(path), "silero": silero(audio)}
    core = frames([(a + 0.2, b - 0.2) for a, b in spans["silero"]], total)  # Silero's speech, unpadded
    for name, found in spans.items():
        waves = [audio[int(a * RATE) : int(b * RATE)] for a, b in found]
        text = " ".join(transcriber.transcribe_waves(waves))
        cuts = [b for _, b in found[:-1]]
        result[name] = {
            "segments": len(found),
            "longest_seconds": round(max(b - a for a, b in found), 2),
            "covers_silero_speech": round(float((frames(found, total) & core).sum() / core.sum()), 4),
            "cuts_inside_silero_speech": sum(bool(core[min(int(c / FRAME), len(core) - 1)]) for c in cuts),
            "wer": round(jiwer.wer(" ".join(refs), text), 4),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--manifest", type=Path, default=ROOT / "data" / "synthetic" / "test.jsonl")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "vad_compare.json")
    args = parser.parse_args()
    if not args.ckpt.is_file():
        raise SystemExit(f"{args.ckpt} does not exist: run `make demo` first")
    transcriber = command_transcriber(args.ckpt)
    record = {"commit": commit(), "machine": machine(), "checkpoint": str(args.ckpt), "minutes": args.minutes}
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "clean.wav"
        refs = build(args.manifest, args.minutes, 0.5, clean)
        audio, _ = sf.read(str(clean), dtype="float32")
        speech_power = float(np.mean(audio[np.abs(audio) > 0] ** 2))
        noise = np.random.default_rng(0).normal(size=audio.size) * np.sqrt(
            speech_power / 10 ** (args.snr / 10)
        )
        noisy_audio = (audio + noise).astype(np.float32)
        noisy = Path(tmp) / "noisy.wav"
        sf.write(str(noisy), noisy_audio, RATE, subtype="FLOAT")
        record["clean"] = compare(audio, clean, refs, transcriber)
        record[f"noise_{args.snr:g}dB"] = compare(noisy_audio, noisy, refs, transcriber)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

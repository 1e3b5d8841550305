"""Loading + feature throughput and padding on a generated LibriSpeech-like corpus.

    python benchmarks/loader.py [--hours 1.0] [--workers 0 1 2] [--batch-seconds 400]

Writes FLAC files in the LibriSpeech layout with utterance lengths drawn like LibriSpeech's
training sets (mostly 10-17 s, a tail down to 1 s and up to 35 s), imports them with the
LibriSpeech importer, then iterates the training loader (workers decode FLAC, as in training)
and computes log-mel features on each batch. Prints seconds of audio per second for loading
alone and loading + features, for each worker count, the padding ratio (padded frames / real
frames) of the duration batches, and writes benchmarks/results/loader.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from provenance import machine
from torch.utils.data import DataLoader

from asr.data.corpora.librispeech import import_librispeech
from asr.data.datamodule import SpeechDataset, collate
from asr.data.manifest import read_manifest
from asr.data.sampler import DurationBatchSampler
from asr.features import LogMel
from asr.text import CharTokenizer

ROOT = Path(__file__).resolve().parents[1]


def librispeech_like_durations(hours: float, rng: random.Random) -> list[float]:
    """LibriSpeech's train sets: 85% of utterances 10-17 s, the rest spread over 1-35 s."""
    out: list[float] = []
    while sum(out) < hours * 3600:
        out.append(rng.uniform(10.0, 17.0) if rng.random() < 0.85 else rng.uniform(1.0, 35.0))
    return out


def write_corpus(root: Path, durations: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_chapter = 20
    for start in range(0, len(durations), per_chapter):
        speaker, chapter = 100 + start // 200, 1000 + start // per_chapter
        folder = root / "LibriSpeech" / "train-clean-100" / str(speaker) / str(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for k, seconds in enumerate(durations[start : start + per_chapter]):
            uid = f"{speaker}-{chapter}-{k:04d}"
            audio = (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)
            sf.write(str(folder / f"{uid}.flac"), audio, 16000)
            lines.append(f"{uid} SOME WORDS SPOKEN HERE")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")


def measure(
    dataset: SpeechDataset, sampler: DurationBatchSampler, workers: int, features: LogMel | None
) -> float:
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers)
    audio = 0.0
    start = time.monotonic()
    with torch.inference_mode():
        for batch in loader:
            if features is not None:
                features(batch.waves, batch.wave_lengths)
            audio += batch.wave_lengths.sum().item() / 16000
    return audio / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch-seconds", type=float, default=400.0)
    args = parser.parse_args()
    durations = librispeech_like_durations(args.hours, random.Random(0))
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp), durations, seed=0)
        start = time.monotonic()
        manifest = import_librispeech(tmp, Path(tmp) / "manifests", splits=["train-clean-100"])[
            "train-clean-100"
        ]
        import_seconds = time.monotonic() - start
        rows = read_manifest(manifest, CharTokenizer())
        dataset = SpeechDataset(rows, CharTokenizer(), 16000)
        sampler = DurationBatchSampler([u.duration for u in rows], args.batch_seconds, seed=0)
        padded = sum(max(rows[i].duration for i, _ in b) * len(b) for b in sampler.batches)
        real = sum(u.duration for u in rows)
        results = {
            "command": "python benchmarks/loader.py "
            + f"--hours {args.hours} --batch-seconds {args.batch_seconds}",
            "machine": machine(),
            "utterances": len(rows),
            "audio_hours": round(real / 3600, 2),
            "import_files_per_second": round(len(rows) / import_seconds, 1),
            "padding_ratio": round(padded / real - 1, 4),
            "loading": {},
        }
        for workers in args.workers:
            results["loading"][workers] = {
                "load_audio_s_per_s": round(measure(dataset, sampler, workers, None), 1),
                "load_and_features_audio_s_per_s": round(measure(dataset, sampler, workers, LogMel()), 1),
            }
    out = ROOT / "benchmarks" / "results" / "loader.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

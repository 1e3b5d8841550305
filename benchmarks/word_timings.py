"""Word timings against eSpeak NG's own word positions on the demo's test split.

    python benchmarks/word_timings.py [--ckpt runs/demo/checkpoints/best.ckpt]

Transcribes every test file (data/synthetic/test.jsonl) as `scripts/transcribe.py` does: beam
search with the run's lexicon and LM, words timed from the CTC alignment, times in seconds of
the file. The synthetic corpus records where eSpeak NG began each word (word_starts.jsonl; it
reports starts only, no ends). Recognised words are matched to reference words by difflib's
longest matching blocks; the absolute difference of each matched word's start is the error.
Reports its mean, median and 90th percentile, over all matched words and apart for the first
word of each utterance (whose eSpeak start is the start of the audio, before its leading silence)
and the others. Needs the checkpoint of `make demo`. Writes benchmarks/results/word_timings.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

import numpy as np
from long_audio import command_transcriber
from provenance import commit, machine

ROOT = Path(__file__).resolve().parents[1]


def summary(errors: list[float]) -> dict:
    values = np.array(errors) * 1000
    return {
        "words": len(values),
        "mean_ms": round(float(values.mean()), 1),
        "median_ms": round(float(np.median(values)), 1),
        "p90_ms": round(float(np.percentile(values, 90)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, default=ROOT / "runs" / "demo" / "checkpoints" / "best.ckpt")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synthetic")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "word_timings.json")
    args = parser.parse_args()
    if not args.ckpt.is_file():
        raise SystemExit(f"{args.ckpt} does not exist: run `make demo` first")
    starts = {
        row["audio_filepath"]: row["word_starts"]
        for row in map(json.loads, (args.data / "word_starts.jsonl").read_text().splitlines())
    }
    rows = [json.loads(line) for line in (args.data / "test.jsonl").read_text().splitlines()]
    transcriber = command_transcriber(args.ckpt)
    results = transcriber.transcribe([args.data / r["audio_filepath"] for r in rows])
    first, rest, unmatched, no_start = [], [], 0, 0
    for row, result in zip(rows, results, strict=True):
        reference = row["text"].split()
        truth = starts[row["audio_filepath"]]
        hypothesis = [w.text for w in result.words]
        matcher = difflib.SequenceMatcher(a=reference, b=hypothesis, autojunk=False)
        matched = [
            (block.a + k, block.b + k) for block in matcher.get_matching_blocks() for k in range(block.size)
        ]
        unmatched += len(reference) - len(matched)
        for ref_index, hyp_index in matched:
            if truth[ref_index] is None:
                no_start += 1
                continue
            error = abs(result.words[hyp_index].start - truth[ref_index])
            (first if ref_index == 0 else rest).append(error)
    record = {
        "commit": commit(),
        "machine": machine(),
        "checkpoint": str(args.ckpt),
        "utterances": len(rows),
        "all_words": summary(first + rest),
        "first_words": summary(first),
        "other_words": summary(rest),
        "reference_words_unmatched": unmatched,
        "matched_words_without_espeak_start": no_start,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

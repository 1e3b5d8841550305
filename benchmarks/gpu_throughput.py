"""GPU training and transcription throughput: the full training step against the bare step.

    python benchmarks/gpu_throughput.py           # on a GPU: the grid below, a few minutes
    python benchmarks/gpu_throughput.py --smoke   # anywhere: tiny shapes on the CPU (the test's run)

For the default model (3x256 BiLSTM) and a 5x1024 BiLSTM, in fp32 (TF32), fp16-mixed and
bf16-mixed, with packed and padded recurrence: the full and the bare training step
(`step_timing.py`) over a generated corpus of LibriSpeech-like 2-20 s FLAC files in duration
batches of `--batch-seconds`: seconds of audio per second for both, their ratio, the fraction of
the full step the device waited for data, peak memory. Then, per model, the largest
`data.batch_seconds` of 20 s utterances one fp16 bare step fits in device memory, and the
transcription throughput (`Transcriber`, greedy, batched by duration) on generated files: the
whole path from file to text, and the acoustic model alone on waveforms already read.
`--models` and `--precisions` take a subset, to split the grid over several runs. Writes
benchmarks/results/gpu_throughput.json (or `--out`) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import gc
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch
from provenance import write_result
from step_timing import Shape, bare_step, full_step, librispeech_like, make_module, train_config, write_corpus

from asr.data.audio import load_audio
from asr.inference import Transcriber
from asr.recognizer import TorchRunner

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"default 3x256": [], "5x1024": ["model.hidden_size=1024", "model.num_layers=5"]}
SMOKE_MODELS = {
    "default 3x256": ["model.hidden_size=32", "model.num_layers=1"],
    "5x1024": ["model.hidden_size=48", "model.num_layers=2"],
}
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed")
SMOKE_PRECISIONS = ("32-true", "bf16-mixed")  # Lightning has no fp16 autocast on the CPU
RECURRENCES = ("packed", "padded")


def training_rows(args, models: dict, precisions, manifest: Path, accelerator: str) -> list[dict]:
    rows = []
    for name, overrides in models.items():
        for precision in precisions:
            for recurrence in RECURRENCES:
                cfg = train_config([*overrides, f"model.recurrence={recurrence}"])
                data = {
                    "train_manifest": str(manifest),
                    "val_manifest": str(manifest),
                    "test_manifest": str(manifest),
                    "batch_seconds": args.batch_seconds,
                    "num_workers": args.workers,
                    "seed": 0,
                }
                module = make_module(cfg)
                full, shapes = full_step(module, data, precision, accelerator, args.steps, args.warmup)
                device = module.device
                del module
                bare = bare_step(make_module(cfg), shapes, precision, device, args.rounds)
                row = {
                    "model": name,
                    "precision": precision,
                    "recurrence": recurrence,
                    "full": full.row(),
                    "bare": bare.row(),
                    "full_over_bare": round(full.audio_per_second / bare.audio_per_second, 3),
                }
                rows.append(row)
                print(
                    f"| {name} | {precision} | {recurrence} | {bare.audio_per_second:.0f} "
                    f"| {full.audio_per_second:.0f} | {row['full_over_bare']:.2f} "
                    f"| {row['full']['idle_fraction']:.1%} | {full.peak_memory_gb} |",
                    flush=True,
                )
                _free()
    return rows


def _free() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _fits(cfg, seconds: float, utterance: float, device: torch.device) -> bool:
    """One fp16 bare step (optimiser state included) on `seconds` of `utterance`-second rows."""
    count = max(1, int(seconds // utterance))
    shape = Shape([int(utterance * 16000)] * count, [int(utterance * 12)] * count)
    try:
        bare_step(make_module(cfg), [shape], "16-mixed" if device.type == "cuda" else "32-true", device)
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        _free()


def largest_batch(cfg, device: torch.device, utterance: float, start: float, cap: float) -> dict:
    """Doubling from `start` until a step runs out of memory (or `cap`), then three bisections."""
    fits, fails = 0.0, None
    size = start
    while size <= cap:
        if not _fits(cfg, size, utterance, device):
            fails = size
            break
        fits, size = size, size * 2
    for _ in range(3 if fails else 0):
        middle = (fits + fails) / 2
        if _fits(cfg, middle, utterance, device):
            fits = middle
        else:
            fails = middle
    return {"utterance_seconds": utterance, "largest_batch_seconds": fits, "failed_at": fails, "cap": cap}


def transcription(cfg, files: list[Path], device: torch.device, batch_seconds: float) -> dict:
    """Untrained weights: the speed of the path, not its words."""
    transcriber = Transcriber(
        TorchRunner(make_module(cfg).recognizer, str(device)), batch_seconds=batch_seconds
    )
    transcriber.log_probs([load_audio(files[0], 16000)])  # cuDNN and allocator warm-up
    audio = sum(t.duration for t in transcriber.transcribe_files(files))  # page cache warm-up
    start = time.perf_counter()
    results = list(transcriber.transcribe_files(files))
    whole = time.perf_counter() - start
    waves = [load_audio(path, 16000) for path in files]
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    transcriber.log_probs(waves)
    acoustic = time.perf_counter() - start
    return {
        "files": len(results),
        "audio_seconds": round(audio, 1),
        "whole_seconds": round(whole, 3),
        "whole_real_time": round(audio / whole, 1),
        "acoustic_seconds": round(acoustic, 3),
        "acoustic_real_time": round(audio / acoustic, 1),
        "batch_seconds": batch_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, CPU allowed")
    parser.add_argument("--hours", type=float, default=1.0, help="training corpus, reused across epochs")
    parser.add_argument("--batch-seconds", type=float, default=960.0, help="about 64 x 15 s")
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--transcribe-hours", type=float, default=1.0)
    parser.add_argument("--transcribe-batch-seconds", type=float, default=1200.0)
    parser.add_argument("--models", help=f"a subset, comma-separated: {', '.join(MODELS)}")
    parser.add_argument("--precisions", help=f"a subset, comma-separated: {', '.join(PRECISIONS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_throughput.json")
    args = parser.parse_args()
    if args.workers != "auto":
        args.workers = int(args.workers)
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        raise SystemExit("gpu_throughput.py needs a GPU; --smoke runs tiny shapes on the CPU")
    device = torch.device("cuda" if cuda else "cpu")
    models, precisions = (SMOKE_MODELS, SMOKE_PRECISIONS) if args.smoke else (MODELS, PRECISIONS)
    if not cuda:
        precisions = SMOKE_PRECISIONS
    if args.models:
        models = {name: models[name] for name in args.models.split(",")}
    if args.precisions:
        precisions = tuple(args.precisions.split(","))
    shortest, longest = (1.0, 3.0) if args.smoke else (2.0, 20.0)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_corpus(Path(tmp) / "train", librispeech_like(args.hours, shortest, longest, seed=0))
        test = write_corpus(
            Path(tmp) / "test", librispeech_like(args.transcribe_hours, shortest, longest, seed=1)
        )
        files = sorted(test.parent.glob("*.flac"))
        print(
            "| model | precision | recurrence | bare step, audio s/s | full step, audio s/s | full/bare "
            "| device waiting | peak memory (GB) |\n|---|---|---|---|---|---|---|---|",
            flush=True,
        )
        rows = training_rows(args, models, precisions, manifest, "gpu" if cuda else "cpu")
        memory, transcribe = {}, {}
        for name, overrides in models.items():
            cfg = train_config(overrides)
            start, cap = (480.0, 61440.0) if cuda else (2.0, 8.0)
            memory[name] = largest_batch(cfg, device, longest, start, cap)
            transcribe[name] = transcription(cfg, files, device, args.transcribe_batch_seconds)
            print(f"{name}: {json.dumps(memory[name])}\n{name}: {json.dumps(transcribe[name])}", flush=True)
    command = " ".join(["python", "benchmarks/gpu_throughput.py", *map(shlex.quote, sys.argv[1:])])
    written = write_result(
        args.out,
        command,
        device=torch.cuda.get_device_name() if cuda else "cpu",
        settings={k: v for k, v in vars(args).items() if k != "out"},
        training=rows,
        largest_batch=memory,
        transcription=transcribe,
    )
    print(f"wrote {written}")


if __name__ == "__main__":
    main()

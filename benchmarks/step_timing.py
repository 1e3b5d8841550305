"""Seconds of audio trained per second: the full training step against the bare step.

- Full step: what `scripts/train.py` runs, through Lightning's Trainer: the duration-batch
  DataLoader reading real files, collate, the copy to the device, log-mel + SpecAugment, the
  model, CTC, backward, clipping, the optimiser. A callback records each batch's shape and how long
  the device sat idle waiting for it: from the end of one step (the device synchronised there)
  to the start of the next, which is loading, collating and copying.
- Bare step: the same recogniser, CTC, backward, clipping and optimiser step, under the same
  precision, on random waveforms of exactly those recorded shapes, already on the device.

Their ratio is what the data pipeline and the training loop cost. Shared by
`benchmarks/train_speed.py` (CPU) and `benchmarks/gpu_throughput.py`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import soundfile as sf
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from asr.data.datamodule import Batch, SpeechDataModule
from asr.data.manifest import Utterance, write_manifest
from asr.module import SpeechRecognizer
from asr.recognizer import use_tensor_cores
from asr.text import CharTokenizer

ROOT = Path(__file__).resolve().parents[1]
CLIP = 5.0  # conf/trainer's gradient_clip_val
AUTOCAST = {"16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


def train_config(overrides: list[str]):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose("train", [f"paths.root={ROOT}", *overrides])


def make_module(cfg, seed: int = 0) -> SpeechRecognizer:
    """The LightningModule `scripts/train.py` builds from `cfg`."""
    plain = lambda node: OmegaConf.to_container(node, resolve=True)  # noqa: E731
    torch.manual_seed(seed)
    return SpeechRecognizer(
        CharTokenizer().to_dict(),
        plain(cfg.features),
        plain(cfg.model),
        plain(cfg.optim),
        plain(cfg.augment) if cfg.augment else None,
    )


def librispeech_like(hours: float, shortest: float, longest: float, seed: int = 0) -> list[float]:
    """Durations like LibriSpeech's training sets (85% within 10-17 s, the rest spread out), kept
    within [shortest, longest]."""
    rng = random.Random(seed)
    out: list[float] = []
    while sum(out) < hours * 3600:
        seconds = rng.uniform(10.0, 17.0) if rng.random() < 0.85 else rng.uniform(1.0, 35.0)
        out.append(min(longest, max(shortest, seconds)))
    return out


def write_corpus(folder: Path, durations: list[float], sample_rate: int = 16000, seed: int = 0) -> Path:
    """FLAC files of noise modulated at a syllable rate (4 Hz, dips too short to be pauses, so a
    transcription segment is the whole file as for a spoken utterance) with random-letter
    transcripts of about 12 characters a second (read speech's rate); returns the manifest."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, seconds in enumerate(durations):
        path = folder / f"{index:06d}.flac"
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 2 * np.pi))
        wave = 0.1 * envelope * rng.standard_normal(len(t))
        sf.write(str(path), wave.astype(np.float32), sample_rate)
        words = [
            "".join(rng.choice(letters, size=int(rng.integers(2, 9))))
            for _ in range(max(1, int(12 * seconds / 6)))
        ]
        rows.append(Utterance(path, seconds, " ".join(words)))
    manifest = folder / "manifest.jsonl"
    write_manifest(manifest, rows)
    return manifest


@dataclass(frozen=True)
class Shape:
    wave_lengths: list[int]
    target_lengths: list[int]


@dataclass
class Measured:
    steps: int
    audio_seconds: float
    seconds: float
    idle_seconds: float
    peak_memory_gb: float | None

    @property
    def audio_per_second(self) -> float:
        return self.audio_seconds / self.seconds

    def row(self) -> dict:
        return {
            "steps": self.steps,
            "audio_seconds": round(self.audio_seconds, 1),
            "seconds": round(self.seconds, 3),
            "audio_per_second": round(self.audio_per_second, 1),
            "idle_fraction": round(self.idle_seconds / self.seconds, 4),
            "peak_memory_gb": self.peak_memory_gb,
        }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak(device: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None


class StepTimer(L.Callback):
    """Times the training steps after the first `warmup`, and the device's wait for their batches."""

    def __init__(self, warmup: int, sample_rate: int) -> None:
        self.warmup, self.sample_rate = warmup, sample_rate
        self.shapes: list[Shape] = []
        self.idle = 0.0
        self._start: float | None = None
        self._last_end: float | None = None
        self._end: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch: Batch, batch_idx: int) -> None:
        if self._start is not None:
            self.idle += time.perf_counter() - self._last_end

    def on_train_batch_end(self, trainer, pl_module, outputs, batch: Batch, batch_idx: int) -> None:
        device = pl_module.device
        _sync(device)
        self._last_end = time.perf_counter()
        if self._start is not None:
            self.shapes.append(Shape(batch.wave_lengths.tolist(), batch.target_lengths.tolist()))
            self._end = self._last_end
        elif trainer.global_step >= self.warmup:
            self._start = self._last_end
            _reset_peak(device)

    def measured(self, device: torch.device) -> Measured:
        audio = sum(sum(s.wave_lengths) for s in self.shapes) / self.sample_rate
        return Measured(len(self.shapes), audio, self._end - self._start, self.idle, _peak(device))


def full_step(
    module: SpeechRecognizer,
    data: dict,
    precision: str,
    accelerator: str,
    steps: int,
    warmup: int,
) -> tuple[Measured, list[Shape]]:
    """`steps` training steps after `warmup` through Lightning, on the SpeechDataModule of `data`
    (its keyword arguments; the training manifest also serves as validation, which is not run)."""
    datamodule = SpeechDataModule(
        tokenizer=module.tokenizer,
        sample_rate=module.recognizer.sample_rate,
        frames_per_second=module.recognizer.frames_per_second,
        **data,
    )
    timer = StepTimer(warmup, module.recognizer.sample_rate)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        max_steps=warmup + steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        gradient_clip_val=CLIP,
        benchmark=accelerator == "gpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(module, datamodule=datamodule)
    return timer.measured(module.device), timer.shapes


def _random_batch(shape: Shape, vocab: int, device: torch.device, generator: torch.Generator) -> Batch:
    waves = 0.1 * torch.randn(len(shape.wave_lengths), max(shape.wave_lengths), generator=generator)
    targets = torch.randint(
        1, vocab, (len(shape.target_lengths), max(shape.target_lengths)), generator=generator
    )
    return Batch(
        waves.to(device),
        torch.tensor(shape.wave_lengths, device=device),
        targets.to(device),
        torch.tensor(shape.target_lengths, device=device),
        [""] * len(shape.wave_lengths),
    )


def bare_step(
    module: SpeechRecognizer, shapes: list[Shape], precision: str, device: torch.device, rounds: int = 1
) -> Measured:
    """Forward (features, SpecAugment, model), CTC, backward, clipping and AdamW on random batches
    of `shapes` already on `device`, in `precision` (fp16 with a gradient scaler, as Lightning
    runs it); the best of `rounds` passes after one untimed pass."""
    use_tensor_cores(device)
    module = module.to(device).train()
    optimizer = instantiate(module.optim["optimizer"], params=module.parameters())
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")
    generator = torch.Generator().manual_seed(0)
    vocab = module.tokenizer.vocab_size
    batches = [_random_batch(shape, vocab, device, generator) for shape in shapes]
    audio = sum(sum(s.wave_lengths) for s in shapes) / module.recognizer.sample_rate

    def step(batch: Batch) -> None:
        with torch.autocast(device.type, dtype=AUTOCAST.get(precision), enabled=precision in AUTOCAST):
            loss = module._losses(batch)[0].mean()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(module.parameters(), CLIP)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    for batch in batches:
        step(batch)
    best = float("inf")
    _reset_peak(device)
    for _ in range(rounds):
        _sync(device)
        start = time.perf_counter()
        for batch in batches:
            step(batch)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return Measured(len(batches), audio, best, 0.0, _peak(device))

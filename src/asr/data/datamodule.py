"""Datasets and the LightningDataModule: manifests in, padded waveform batches out.

Workers decode audio and nothing more; features are computed on the device by the model.
"""

from __future__ import annotations

import logging
import os
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from asr.data.audio import AudioError
from asr.data.corpora import prepare
from asr.data.manifest import OnError, Utterance, apply_error_policy, read_manifest
from asr.data.perturb import WAVE_KEYS, WavePerturbation, seeded
from asr.data.sampler import CorpusMix, Draw, DurationBatchSampler
from asr.text import CharTokenizer

log = logging.getLogger(__name__)

Item = tuple[torch.Tensor, torch.Tensor, str, str]


class Batch(NamedTuple):
    """Padded waveforms and targets with their lengths, the utterances' labels (the file, and the
    segment of a row that is one: for messages that name them), how many utterances of this
    batch were skipped as unreadable, and each utterance's `speaker_key` (whose speaker mean
    `features.normalize=speaker` subtracts)."""

    waves: torch.Tensor
    wave_lengths: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    paths: list[str]
    skipped: int = 0
    speakers: tuple[str, ...] = ()


class SpeechDataset(Dataset):
    """Utterances to (waveform, token ids, label, speaker key); with OnError.SKIP an unreadable file gives
    None, which `collate` drops and counts, instead of ending the epoch."""

    def __init__(
        self,
        utterances: list[Utterance],
        tokenizer: CharTokenizer,
        sample_rate: int,
        on_error: OnError = OnError.RAISE,
        perturb: WavePerturbation | None = None,
    ) -> None:
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.on_error = on_error
        self.perturb = perturb

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, key: int | Draw) -> Item | None:
        index, seed = (key.index, key.seed) if isinstance(key, Draw) else (key, None)
        utt = self.utterances[index]
        tokens = torch.tensor(self.tokenizer.encode(utt.text), dtype=torch.long)
        try:
            wave = torch.from_numpy(utt.load(self.sample_rate))
        except AudioError as err:
            if self.on_error is OnError.SKIP:
                log.warning("skipped unreadable audio: %s", err)
                return None
            raise AudioError(f"{err} (set data.on_error=skip to skip unreadable files)") from err
        if self.perturb is not None:
            generator = None if seed is None else seeded(seed)
            wave = self.perturb(wave, self.sample_rate, generator)
        return wave, tokens, utt.label, utt.speaker_key


def collate(items: list[Item | None]) -> Batch:
    """Zero-pad waveforms and token ids; return both with their true lengths."""
    kept = [item for item in items if item is not None]
    if not kept:
        empty = torch.zeros(0, 0)
        return Batch(
            empty,
            torch.zeros(0, dtype=torch.long),
            empty.long(),
            torch.zeros(0, dtype=torch.long),
            [],
            len(items),
        )
    waves, tokens, paths, speakers = zip(*kept, strict=True)
    return Batch(
        torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True),
        torch.tensor([len(w) for w in waves]),
        torch.nn.utils.rnn.pad_sequence(list(tokens), batch_first=True),
        torch.tensor([len(t) for t in tokens]),
        list(paths),
        len(items) - len(kept),
        speakers,
    )


def ctc_frames_needed(text: str) -> int:
    """The fewest CTC frames a transcript aligns to: one per character, plus a blank between
    repeated characters (`impossible_alignments` applies the same rule to padded token ids)."""
    return len(text) + sum(a == b for a, b in pairwise(text))


def impossible_alignments(
    targets: torch.Tensor, target_lengths: torch.Tensor, frames: torch.Tensor
) -> torch.Tensor:
    """True for each utterance of a batch whose token ids need more CTC frames than `frames`
    (the rule of `ctc_frames_needed`)."""
    repeats = (targets[:, 1:] == targets[:, :-1]) & (
        torch.arange(1, targets.shape[1], device=targets.device) < target_lengths[:, None]
    )
    return target_lengths + repeats.sum(1) > frames.to(target_lengths.device)


def check_ctc_lengths(
    utterances: list[Utterance], frames_per_second: float, on_error: OnError, fastest: float = 1.0
) -> list[Utterance]:
    """Rows whose transcript fits the encoder's CTC frames (`ctc_frames_needed`) at the `fastest`
    speed perturbation (which shortens the audio).
    The rest raise, or are skipped with a logged count."""
    fits, problems = [], []
    at = f" at speed {fastest:g}" if fastest != 1.0 else ""
    for utt in utterances:
        frames = int(utt.duration / fastest * frames_per_second)
        needed = ctc_frames_needed(utt.text)
        if needed <= frames:
            fits.append(utt)
        else:
            problems.append(f"{utt.label}: transcript needs {needed} CTC frames, audio gives {frames}{at}")
    apply_error_policy(
        problems,
        len(utterances),
        "utterances too short for their transcripts",
        on_error,
        "check the transcripts, or ",
    )
    return fits


def data_settings(data: dict, on_error: OnError) -> dict:
    """`SpeechDataModule`'s keyword arguments from a resolved data config: all but `text`, which
    the tokenizer applies (`CharTokenizer(spoken_form=data["text"]["normalize"])`), with the
    bad-input policy already parsed and the waveform settings made one validated perturbation."""
    kept = {key: value for key, value in data.items() if key != "text" and key not in WAVE_KEYS}
    return kept | {"on_error": on_error, "perturb": WavePerturbation.from_settings(data)}


def loader_workers(setting: int | str, device: torch.device, processes_per_node: int) -> int:
    """`data.num_workers`: a count, or `auto`: none on the CPU, where workers would take cores from
    the model's own computation, and on a GPU up to 8 per training process, within the cores each
    process has to itself, one of them left to its training loop."""
    if setting != "auto":
        return int(setting)
    if device.type == "cpu":
        return 0
    cores = (os.cpu_count() or 1) // max(1, processes_per_node)
    return max(1, min(8, cores - 1))


class SpeechDataModule(L.LightningDataModule):
    """Train/val/test manifests, optionally prepared first from a corpus recipe.

    `root` is where the corpus's audio lives (generated there for the synthetic corpus, a clone
    for FSDD), `manifest_dir` where its recipe writes manifests; both matter only with `corpus`.
    A split's manifest may be a list of manifests, read as one (LibriSpeech's 960 h union);
    `train_weights`, one per training manifest, then makes them corpora mixed by sampling weight
    (`CorpusMix`: synthetic commands beside a few real speakers, say).
    """

    def __init__(
        self,
        train_manifest: str | list[str],
        val_manifest: str | list[str],
        test_manifest: str | list[str],
        tokenizer: CharTokenizer,
        sample_rate: int = 16000,
        batch_seconds: float = 60.0,
        num_workers: int | str = "auto",
        prefetch_factor: int = 2,
        on_error: OnError = OnError.RAISE,
        seed: int = 0,
        corpus: dict | None = None,
        root: str | None = None,
        manifest_dir: str | None = None,
        frames_per_second: float | None = None,
        perturb: WavePerturbation | None = None,
        check_audio: bool = True,
        train_weights: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.manifests = {
            split: [paths] if isinstance(paths, str) else list(paths)
            for split, paths in (("train", train_manifest), ("val", val_manifest), ("test", test_manifest))
        }
        if train_weights is not None and len(train_weights) != len(self.manifests["train"]):
            raise ValueError(
                f"data.train_weights has {len(train_weights)} weights for {len(self.manifests['train'])} "
                "training manifests: give one weight per entry of data.train_manifest"
            )
        self.train_weights = train_weights
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.batch_seconds = batch_seconds
        if num_workers != "auto" and not (isinstance(num_workers, int) and num_workers >= 0):
            raise ValueError(f"data.num_workers must be a number of processes or auto, not {num_workers!r}")
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.on_error = on_error
        self.seed = seed
        self.corpus = corpus
        self.root = root
        self.manifest_dir = manifest_dir
        self.frames_per_second = frames_per_second
        self.check_audio = check_audio
        self.perturb = perturb
        self.datasets: dict[str, SpeechDataset] = {}
        self.train_sizes: tuple[int, ...] = ()
        self._resume_at: tuple[int, int] | None = None
        # Corpora are prepared (the embedded one generated) by global rank zero alone while the
        # others wait: clusters share one filesystem, and two nodes must not write one manifest.
        self.prepare_data_per_node = False

    def prepare_data(self) -> None:
        if self.corpus is not None:
            params = dict(self.corpus)
            prepare(params.pop("name"), Path(self.root), Path(self.manifest_dir), **params)

    def setup(self, stage: str | None = None) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage, ("train", "val")
        )
        for split in splits:
            if split not in self.datasets:
                perturb = self.perturb if split == "train" else None
                parts = [self._read(path, perturb) for path in self.manifests[split]]
                if split == "train":
                    self.train_sizes = tuple(len(part) for part in parts)
                rows = [row for part in parts for row in part]
                self.datasets[split] = SpeechDataset(
                    rows, self.tokenizer, self.sample_rate, self.on_error, perturb
                )

    def _read(self, path: str, perturb: WavePerturbation | None) -> list[Utterance]:
        rows = read_manifest(path, self.tokenizer, self.on_error, self.check_audio)
        if self.frames_per_second is None:
            return rows
        fastest = perturb.fastest if perturb else 1.0
        return check_ctc_lengths(rows, self.frames_per_second, self.on_error, fastest)

    def mix(self) -> CorpusMix | None:
        """The training corpora's sampling weights, once `setup` has read them (None: unweighted)."""
        if self.train_weights is None:
            return None
        return CorpusMix(self.train_sizes, tuple(float(w) for w in self.train_weights))

    def epoch_audio_seconds(self) -> float:
        """Seconds of training audio an epoch draws (each corpus's audio times its weight)."""
        utterances = self.datasets["train"].utterances
        weights = self.train_weights or [1.0] * len(self.train_sizes)
        seconds, start = 0.0, 0
        for size, weight in zip(self.train_sizes, weights, strict=True):
            seconds += weight * sum(u.duration for u in utterances[start : start + size])
            start += size
        return seconds

    def _perturbed_seconds(self, duration: float, seed: int) -> float:
        return self.perturb.seconds(duration, seed, self.sample_rate)

    def state_dict(self) -> dict:
        """Where training stands in its epoch, saved in every checkpoint: the batches this rank's
        training loop has taken (not what the loader has prefetched)."""
        if self.trainer is None:
            return {}
        progress = self.trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": self.trainer.current_epoch, "batches_done": progress.processed}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self._resume_at = (state["epoch"], state["batches_done"])

    def _loader(self, split: str, training: bool) -> DataLoader:
        dataset = self.datasets[split]
        trainer = self.trainer
        sampler = DurationBatchSampler(
            [u.duration for u in dataset.utterances],
            self.batch_seconds,
            shuffle=training,
            seed=self.seed,
            num_replicas=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0,
            pad=training,
            draws=training,
            mix=self.mix() if training else None,
            lengths=self._perturbed_seconds if training and self.perturb and self.perturb.retimes else None,
        )
        if training and self._resume_at is not None:
            sampler.start_at(*self._resume_at)
            self._resume_at = None
        device = trainer.strategy.root_device if trainer else torch.device("cpu")
        workers = loader_workers(self.num_workers, device, trainer.num_devices if trainer else 1)
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=workers,
            persistent_workers=workers > 0,
            prefetch_factor=self.prefetch_factor if workers else None,
            # Page-locked batches: Lightning's copies to the GPU are then asynchronous.
            pin_memory=device.type == "cuda",
            # The workers' base seed is drawn from this generator, not the global one, whose
            # state a resumed run restores and which must advance exactly as in an unbroken run.
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", training=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", training=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", training=False)

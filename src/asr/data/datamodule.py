"""Datasets and the LightningDataModule: manifests in, padded waveform batches out.

Workers decode audio and nothing more; features are computed on the device by the model.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from asr.data.audio import load_audio
from asr.data.corpora import prepare
from asr.data.manifest import Utterance, read_manifest
from asr.data.sampler import DurationBatchSampler
from asr.text import CharTokenizer

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class SpeechDataset(Dataset):
    def __init__(self, utterances: list[Utterance], tokenizer: CharTokenizer, sample_rate: int) -> None:
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        utt = self.utterances[index]
        tokens = torch.tensor(self.tokenizer.encode(utt.text), dtype=torch.long)
        return load_audio(utt.audio_filepath, self.sample_rate), tokens


def collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> Batch:
    """Zero-pad waveforms and token ids; return both with their true lengths."""
    waves, tokens = zip(*items, strict=True)
    wave_lengths = torch.tensor([len(w) for w in waves])
    token_lengths = torch.tensor([len(t) for t in tokens])
    padded = torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True)
    targets = torch.nn.utils.rnn.pad_sequence(list(tokens), batch_first=True)
    return padded, wave_lengths, targets, token_lengths


class SpeechDataModule(L.LightningDataModule):
    """Train/val/test manifests, optionally prepared first from a corpus recipe."""

    def __init__(
        self,
        train_manifest: str,
        val_manifest: str,
        test_manifest: str,
        tokenizer: CharTokenizer,
        sample_rate: int = 16000,
        batch_seconds: float = 60.0,
        num_workers: int = 0,
        on_error: str = "raise",
        seed: int = 0,
        corpus: dict | None = None,
        root: str | None = None,
    ) -> None:
        super().__init__()
        self.manifests = {"train": train_manifest, "val": val_manifest, "test": test_manifest}
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.batch_seconds = batch_seconds
        self.num_workers = num_workers
        self.on_error = on_error
        self.seed = seed
        self.corpus = corpus
        self.root = root
        self.datasets: dict[str, SpeechDataset] = {}

    def prepare_data(self) -> None:
        if self.corpus is not None:
            params = dict(self.corpus)
            prepare(params.pop("name"), Path(self.root), **params)

    def setup(self, stage: str | None = None) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(
            stage, ("train", "val")
        )
        for split in splits:
            if split not in self.datasets:
                rows = read_manifest(self.manifests[split], self.tokenizer, on_error=self.on_error)
                self.datasets[split] = SpeechDataset(rows, self.tokenizer, self.sample_rate)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.datasets[split]
        sampler = DurationBatchSampler(
            [u.duration for u in dataset.utterances], self.batch_seconds, shuffle=shuffle, seed=self.seed
        )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

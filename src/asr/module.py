"""The LightningModule: features -> acoustic model -> CTC, with WER/CER on validation.

Its hyperparameters (tokenizer, feature and model settings, schema version) are saved in every
checkpoint, so a checkpoint alone rebuilds the recogniser.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from asr.data.datamodule import Batch
from asr.decoding import GreedyDecoder
from asr.features import LogMel, SpecAugment
from asr.metrics import error_rates
from asr.model import AcousticModel
from asr.text import CharTokenizer

SCHEMA_VERSION = 2  # 2: the recurrent family (model.rnn_type and friends); layer names changed


def warmup_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    """LR multiplier: linear warm-up to 1, then cosine decay to `floor` at `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class SpeechRecognizer(L.LightningModule):
    """Waveforms in, CTC log-probabilities out; the whole recogniser, features included.

    Features live inside the module so that training, scoring and transcription all compute them
    the same way, on whatever device the module is on.
    """

    def __init__(
        self,
        tokenizer: dict,
        features: dict,
        model: dict,
        optim: dict | None = None,
        augment: dict | None = None,
        on_error: str = "raise",
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        super().__init__()
        if schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"checkpoint schema {schema_version} is not this version's {SCHEMA_VERSION}: "
                "retrain it with this version, or load it with the version that wrote it"
            )
        self.save_hyperparameters()
        self.tokenizer = CharTokenizer.from_dict(tokenizer)
        self.features = LogMel(**features)
        self.augment = SpecAugment(**augment) if augment else None
        self.model = AcousticModel(self.features.n_mels, self.tokenizer.vocab_size, **model)
        self.ctc = nn.CTCLoss(blank=self.tokenizer.blank_id, zero_infinity=True)
        self.greedy = GreedyDecoder(self.tokenizer)
        self.optim = optim or {}
        self.on_error = on_error
        self._val_refs: list[str] = []
        self._val_hyps: list[str] = []

    @property
    def encoder_frames_per_second(self) -> float:
        """CTC frames per second of audio: what bounds a transcript's length."""
        return self.features.sample_rate / self.features.hop_length / self.model.frontend.stride

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveforms to float32 log-probabilities (B, T', vocab) and their lengths."""
        feats, frames = self.features(waves, lengths)
        if self.augment is not None:
            feats = self.augment(feats, frames)
        logits, out_lengths = self.model(feats, frames)
        return logits.float().log_softmax(dim=-1), out_lengths

    def _loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        log_probs, out_lengths = self(batch.waves, batch.wave_lengths)
        loss = self.ctc(log_probs.transpose(0, 1), batch.targets, out_lengths, batch.target_lengths)
        return loss, log_probs, out_lengths

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        """The CTC loss; None (Lightning then skips the update) for a batch with nothing usable."""
        self.log(
            "skipped_audio", float(batch.skipped), reduce_fx="sum", on_step=False, on_epoch=True, batch_size=1
        )
        if not batch.paths:
            return None
        loss, _, _ = self._loss(batch)
        if not torch.isfinite(loss):
            files = ", ".join(batch.paths[:5]) + (" ..." if len(batch.paths) > 5 else "")
            if self.on_error == "raise":
                raise FloatingPointError(
                    f"non-finite CTC loss ({loss.item()}) at step {self.global_step} on a batch with "
                    f"{files}: check those files, or set data.on_error=skip to skip such batches"
                )
            rank_zero_warn(f"skipped a batch with non-finite loss at step {self.global_step}: {files}")
            self.log("skipped_batches", 1.0, reduce_fx="sum", on_step=False, on_epoch=True, batch_size=1)
            return None
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch.paths))
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        if not batch.paths:
            return
        loss, log_probs, out_lengths = self._loss(batch)
        self.log("val_loss", loss, prog_bar=True, batch_size=len(batch.paths))
        self._val_refs += [
            self.tokenizer.decode(t[:n].tolist())
            for t, n in zip(batch.targets, batch.target_lengths, strict=True)
        ]
        self._val_hyps += self.greedy(log_probs, out_lengths)

    def on_validation_epoch_end(self) -> None:
        wer, cer = error_rates(self._val_refs, self._val_hyps)
        self.log_dict({"val_wer": wer, "val_cer": cer}, prog_bar=True, sync_dist=True)
        self._val_refs, self._val_hyps = [], []

    def configure_optimizers(self) -> dict:
        opt = torch.optim.AdamW(
            self.parameters(),
            lr=self.optim.get("lr", 1e-3),
            weight_decay=self.optim.get("weight_decay", 1e-2),
        )
        total = self.trainer.estimated_stepping_batches
        warmup = max(1, int(self.optim.get("warmup_fraction", 0.05) * total))
        floor = self.optim.get("final_lr_fraction", 0.05)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total, floor))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

"""The LightningModule: the recogniser trained with CTC, with WER/CER on validation.

Its hyperparameters (tokenizer, feature and model settings, schema version) are saved in every
checkpoint, so a checkpoint alone rebuilds the recogniser (`Recognizer.from_checkpoint`).
"""

from __future__ import annotations

import math

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from asr.data.datamodule import Batch
from asr.decoding import GreedyDecoder
from asr.features import SpecAugment
from asr.metrics import error_rates
from asr.recognizer import SCHEMA_VERSION, Recognizer, check_schema


def warmup_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    """LR multiplier: linear warm-up to 1, then cosine decay to `floor` at `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class SpeechRecognizer(L.LightningModule):
    """Training of a `Recognizer` (held as `self.recognizer`): loss, metrics, optimiser."""

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
        check_schema(schema_version)
        self.save_hyperparameters()
        self.recognizer = Recognizer(tokenizer, features, model)
        self.tokenizer = self.recognizer.tokenizer
        self.augment = SpecAugment(**augment) if augment else None
        self.ctc = nn.CTCLoss(blank=self.tokenizer.blank_id, zero_infinity=True)
        self.greedy = GreedyDecoder(self.tokenizer)
        self.optim = optim or {}
        self.on_error = on_error
        self._val_refs: list[str] = []
        self._val_hyps: list[str] = []

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The recogniser's log-probabilities, with SpecAugment where configured (training mode only)."""
        return self.recognizer(waves, lengths, self.augment)

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

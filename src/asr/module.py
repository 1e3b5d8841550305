"""The LightningModule: the recogniser trained with CTC (jointly with its attention decoder where it
has one), with WER/CER on validation.

Its hyperparameters (tokenizer, feature and model settings, schema version) are saved in every
checkpoint, so a checkpoint alone rebuilds the recogniser (`Recognizer.from_checkpoint`).
"""

from __future__ import annotations

import math

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from asr.adversary import SpeakerAdversary
from asr.data.datamodule import Batch, impossible_alignments
from asr.data.manifest import OnError
from asr.decoding import GreedyDecoder
from asr.features import feature_augment
from asr.metrics import error_counts
from asr.recognizer import SCHEMA_VERSION, Recognizer, check_schema, use_tensor_cores
from asr.speakers import speaker_means


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
        on_error: OnError = OnError.RAISE,
        speaker_adversary: float = 0.0,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        super().__init__()
        check_schema(schema_version)
        self.save_hyperparameters(ignore=["on_error"])  # a policy of this run, not of the model
        self.recognizer = Recognizer(tokenizer, features, model)
        self.tokenizer = self.recognizer.tokenizer
        logmel = self.recognizer.features
        self.augment = feature_augment(augment, logmel.sample_rate, logmel.n_mels) if augment else None
        # Per utterance, so that utterances perturbation made impossible to align can be named and
        # dropped (`impossible`); zero_infinity keeps their gradient finite in the meantime.
        self.ctc = nn.CTCLoss(blank=self.tokenizer.blank_id, reduction="none", zero_infinity=True)
        self.greedy = GreedyDecoder(self.tokenizer)
        self.optim = optim or {}
        self.on_error = on_error
        self._val_refs: list[str] = []
        self._val_hyps: list[str] = []
        self._val_loss: list[torch.Tensor] = []
        self._in_flight = ""
        self.speaker_means: dict[str, torch.Tensor] = {}
        if speaker_adversary < 0:
            raise ValueError(f"speaker_adversary is a weight, 0 (off) or more, not {speaker_adversary}")
        self.adversary_weight = speaker_adversary
        self.adversary: SpeakerAdversary | None = None

    def setup(self, stage: str) -> None:
        """With `features.normalize=speaker`, the mean frame of every speaker in the data module's
        datasets (training, validation, test alike: only their audio is read), before any batch
        needs one. Every rank computes all of them: no rank waits on another's. With
        `speaker_adversary`, its classifier over the training set's speakers (sorted: every rank
        and a resumed run build the same one, before Lightning restores its weights)."""
        datasets = getattr(self.trainer.datamodule, "datasets", {})
        if self.adversary_weight and self.adversary is None and "train" in datasets:
            speakers = sorted({u.speaker_key for u in datasets["train"].utterances})
            size = self.recognizer.model.encoder_size
            self.adversary = SpeakerAdversary(size, speakers, self.adversary_weight)
        if not self.recognizer.per_speaker:
            return
        rows = [u for d in datasets.values() for u in d.utterances if u.speaker_key not in self.speaker_means]
        self.speaker_means |= speaker_means(self.recognizer.features, rows, self.on_error)

    def _batch_means(self, batch: Batch) -> torch.Tensor | None:
        """The batch's rows' speaker means (B, n_mels) on the device, where the features take them."""
        if not self.recognizer.per_speaker:
            return None
        missing = sorted({key for key in batch.speakers if key not in self.speaker_means})
        if missing or len(batch.speakers) != len(batch.paths):
            raise ValueError(
                f"no speaker mean for {missing[:3] or batch.paths[:3]}: features.normalize=speaker needs "
                "the batches of a SpeechDataModule, whose setup gathers every speaker's mean"
            )
        return torch.stack([self.speaker_means[key] for key in batch.speakers]).to(self.device)

    def on_fit_start(self) -> None:
        use_tensor_cores(self.device)

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        self._note_batch("training", batch)

    def on_validation_batch_start(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._note_batch("validation", batch)

    def _note_batch(self, stage: str, batch: Batch) -> None:
        """The shape of the batch being computed, for `out_of_memory_message` (shapes only: reading
        lengths would wait for the device)."""
        count, samples = batch.waves.shape if batch.paths else (0, 0)
        seconds = samples / self.recognizer.sample_rate
        self._in_flight = (
            f"a {stage} batch of {count} utterances padded to {seconds:.1f} s "
            f"({count * seconds:.0f} s of audio with padding)"
        )

    def out_of_memory_message(self, batch_seconds: float) -> str:
        """What ran out of memory and the setting to lower (`data.batch_seconds`, now `batch_seconds`)."""
        where = self._in_flight or "the first batch"
        return (
            f"out of device memory on {where}: lower data.batch_seconds (now {batch_seconds:g}), "
            "or the model's size"
        )

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The recogniser's log-probabilities, with SpecAugment where configured (training mode only)."""
        return self.recognizer(waves, lengths, self.augment)

    def _losses(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-utterance losses, the CTC log-probabilities, their lengths and the encoder states.
        The CTC loss is taken over target length (its mean is CTCLoss's "mean"); with an attention
        decoder the loss is λ·CTC + (1 - λ)·attention, the attention loss teacher-forced and also
        per output token."""
        states, out_lengths = self.recognizer.encode(
            batch.waves, batch.wave_lengths, self.augment, self._batch_means(batch)
        )
        log_probs = self.recognizer.ctc_log_probs(states)
        losses = self.ctc(log_probs.transpose(0, 1), batch.targets, out_lengths, batch.target_lengths)
        losses = losses / batch.target_lengths.clamp_min(1)
        attention = self.recognizer.attention
        if attention is not None:
            weight = attention.config.ctc_weight
            spoken = attention.losses(states, out_lengths, batch.targets, batch.target_lengths)
            losses = weight * losses + (1 - weight) * spoken
        return losses, log_probs, out_lengths, states

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        """The loss (CTC, or joint CTC/attention); None (Lightning then skips the update) for a
        batch with nothing usable, or under DDP the share of the update described in `_share_step`.

        What was skipped is counted per epoch, summed over ranks: unreadable audio, utterances that
        perturbation made impossible to align, batches with a non-finite loss.
        """
        skipped = {"skipped_audio": batch.skipped, "skipped_impossible": 0, "skipped_batches": 0}
        loss = self._training_loss(batch, skipped)
        for name, count in skipped.items():
            self.log(
                name,
                float(count),
                reduce_fx="sum",
                on_step=False,
                on_epoch=True,
                batch_size=1,
                sync_dist=True,
            )
        if loss is not None:
            self.log("train_loss", loss, prog_bar=True, batch_size=len(batch.paths))
        if torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
            return self._share_step(loss)
        return loss

    def _training_loss(self, batch: Batch, skipped: dict[str, int]) -> torch.Tensor | None:
        if not batch.paths:
            return None
        losses, _, out_lengths, states = self._losses(batch)
        impossible = impossible_alignments(batch.targets, batch.target_lengths, out_lengths)
        if impossible.any():
            skipped["skipped_impossible"] = int(impossible.sum())
            losses = self._drop_impossible(batch, impossible, losses)
            if losses.numel() == 0:
                return None
        loss = losses.mean()
        if not torch.isfinite(loss):
            files = ", ".join(batch.paths[:5]) + (" ..." if len(batch.paths) > 5 else "")
            if self.on_error is OnError.RAISE:
                raise FloatingPointError(
                    f"non-finite loss ({loss.item()}) at step {self.global_step} on a batch with "
                    f"{files}: check those files, or set data.on_error=skip to skip such batches"
                )
            rank_zero_warn(f"skipped a batch with non-finite loss at step {self.global_step}: {files}")
            skipped["skipped_batches"] = 1
            return None
        if self.adversary is not None:
            adversary_loss, accuracy = self.adversary(states, out_lengths, batch.speakers)
            self.log("train_speaker_acc", accuracy, on_step=False, on_epoch=True, batch_size=len(batch.paths))
            loss = loss + adversary_loss
        return loss

    def _share_step(self, loss: torch.Tensor | None) -> torch.Tensor:
        """Under DDP every rank must take part in each update's gradient all-reduce, and Lightning
        refuses a skipped step there. A rank with nothing to learn from (its batch unusable) returns
        a zero loss over every parameter, and the others scale theirs by ranks / usable ranks, so
        the update is the mean gradient of the usable ranks' batches. One all-reduce of a number
        per step. (When no rank has a usable batch the gradient is zero, but AdamW's momentum and
        weight decay still move the weights: unlike one process, that step is not skipped.)"""
        usable = self.trainer.strategy.reduce(
            torch.tensor(float(loss is not None), device=self.device), reduce_op="sum"
        ).item()
        if loss is None:
            return sum(p.sum() for p in self.parameters() if p.requires_grad) * 0.0
        return loss * (self.trainer.world_size / usable)

    def _drop_impossible(self, batch: Batch, impossible: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        """The bad-input policy for utterances whose transcript no longer fits their frames (speed
        perturbation shortened them past what the CTC length check allowed)."""
        files = [path for path, bad in zip(batch.paths, impossible.tolist(), strict=True) if bad]
        message = f"transcript longer than the CTC frames of its (perturbed) audio: {', '.join(files)}"
        if self.on_error is OnError.RAISE:
            raise ValueError(f"{message}; shorten or drop those rows, or set data.on_error=skip")
        rank_zero_warn(f"skipped at step {self.global_step}: {message}")
        return losses[~impossible]

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        if not batch.paths:
            return
        losses, log_probs, out_lengths, _ = self._losses(batch)
        self._val_loss.append(losses.detach().sum())
        self._val_refs += [
            self.tokenizer.decode(t[:n].tolist())
            for t, n in zip(batch.targets, batch.target_lengths, strict=True)
        ]
        self._val_hyps += self.greedy(log_probs, out_lengths)

    def on_validation_epoch_end(self) -> None:
        """Corpus-level loss, WER and CER: every rank's sums added up before dividing (a mean of
        per-rank rates would weight a short shard like a long one)."""
        loss_sum = torch.stack(self._val_loss).sum().item() if self._val_loss else 0.0
        sums = torch.tensor(
            [loss_sum, len(self._val_refs), *error_counts(self._val_refs, self._val_hyps)],
            dtype=torch.float64,
            device=self.device,
        )
        loss, utterances, word_errors, words, char_errors, chars = self.trainer.strategy.reduce(
            sums, reduce_op="sum"
        ).tolist()
        self.log_dict(
            {
                "val_loss": loss / max(utterances, 1),
                "val_wer": word_errors / max(words, 1),
                "val_cer": char_errors / max(chars, 1),
            },
            prog_bar=True,
            sync_dist=True,  # already global: this only keeps Lightning from warning that it is not
        )
        self._val_refs, self._val_hyps, self._val_loss = [], [], []

    def configure_optimizers(self) -> dict:
        """The optimiser `optim.optimizer` describes (conf/optim, the only place with defaults) and
        a per-step warm-up + cosine schedule."""
        if not self.optim:
            raise ValueError("training needs optim settings (conf/optim): this module was built without them")
        opt = instantiate(self.optim["optimizer"], params=self.parameters())
        total = self.trainer.estimated_stepping_batches
        warmup = max(1, int(self.optim["warmup_fraction"] * total))
        floor = self.optim["final_lr_fraction"]
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total, floor))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

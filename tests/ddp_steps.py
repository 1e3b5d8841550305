"""Run by test_ddp.py (Lightning's DDP launcher re-runs this file once per rank): 20 training steps
and a validation of a small recogniser, on one process or on two gloo ranks.

    python tests/ddp_steps.py MANIFEST_DIR DEVICES PER_RANK_BATCH OUT_DIR [POISON_STEP]

Global batch i is utterances [B*i, B*(i+1)) of the training manifest, B = DEVICES x
PER_RANK_BATCH, each rank taking its own contiguous part of it, so one process with batch 2b and
two ranks with b each see the same data at every step. The learning rate is 1e-3: Adam
normalises every update, so the rounding of the ranks' gradient sum (another summation order than
one process's) moves weights by about that much times its relative size; at 1e-3, twenty steps stay
within 1e-5. Writes OUT_DIR/rank{R}.json (per-step
losses, validation metrics) and, from rank zero, OUT_DIR/weights.pt. With POISON_STEP the last
rank's batch of that step is NaN audio, as an undecodable file gives, and bad input is skipped
(`OnError.SKIP`); every rank then writes OUT_DIR/weights{R}.pt, its step count and skip counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler

from asr.data.datamodule import SpeechDataModule, collate
from asr.data.manifest import OnError
from asr.module import SpeechRecognizer
from asr.text import CharTokenizer

STEPS = 20


class ContiguousShards(Sampler[list[int]]):
    def __init__(self, size: int, per_rank: int, rank: int, world: int) -> None:
        self.size, self.per_rank, self.rank, self.world = size, per_rank, rank, world

    def __len__(self) -> int:
        return self.size // (self.per_rank * self.world)

    def __iter__(self):
        step = self.per_rank * self.world
        for start in range(0, len(self) * step, step):
            first = start + self.rank * self.per_rank
            yield list(range(first, first + self.per_rank))


class Data(SpeechDataModule):
    per_rank = 1

    def train_dataloader(self) -> DataLoader:
        dataset = self.datasets["train"]
        trainer = self.trainer
        shards = ContiguousShards(len(dataset), self.per_rank, trainer.global_rank, trainer.world_size)
        return DataLoader(dataset, batch_sampler=shards, collate_fn=collate)


class Poisoned(SpeechRecognizer):
    poison_step = -1

    def training_step(self, batch, batch_idx):
        if batch_idx == self.poison_step and self.trainer.global_rank == self.trainer.world_size - 1:
            batch = batch._replace(waves=torch.full_like(batch.waves, float("nan")))
        return super().training_step(batch, batch_idx)


class Losses(L.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(None if outputs is None else outputs["loss"].item())


def main(manifests: Path, devices: int, per_rank: int, out: Path, poison_step: int | None = None) -> None:
    L.seed_everything(0, verbose=False)
    tokenizer = CharTokenizer()
    model = {"hidden_size": 32, "num_layers": 2, "dropout": 0.0}
    optim = {
        "optimizer": {"_target_": "torch.optim.AdamW", "lr": 0.001},
        "warmup_fraction": 0.05,
        "final_lr_fraction": 0.05,
    }
    on_error = OnError.RAISE if poison_step is None else OnError.SKIP
    module = Poisoned(tokenizer.to_dict(), {"n_mels": 40}, model, optim, on_error=on_error)
    module.poison_step = -1 if poison_step is None else poison_step
    data = Data(
        *(str(manifests / f"{split}.jsonl") for split in ("train", "val", "test")),
        tokenizer,
        batch_seconds=6.0,
        frames_per_second=module.recognizer.frames_per_second,
    )
    data.per_rank = per_rank
    losses = Losses()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        use_distributed_sampler=False,
        max_steps=STEPS,
        gradient_clip_val=5.0,
        num_sanity_val_steps=0,
        callbacks=[losses],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data)
    if poison_step is not None:
        torch.save(module.state_dict(), out / f"weights{trainer.global_rank}.pt")
        skipped = float(trainer.callback_metrics["skipped_batches"])
        result = {"losses": losses.losses, "steps": trainer.global_step, "skipped_batches": skipped}
        (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(result))
        release_ranks()
        return
    if trainer.is_global_zero:
        torch.save(module.state_dict(), out / "weights.pt")
    # Twenty steps teach the model nothing it would say; noise in its weights makes it say
    # something, so that the validation's error counts differ between utterances and shards.
    noise = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for weights in module.parameters():
            weights.add_(0.3 * torch.randn(weights.shape, generator=noise))
    (validation,) = trainer.validate(module, datamodule=data, verbose=False)
    result = {"losses": losses.losses, "val": validation}
    (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(result))
    release_ranks()


def release_ranks() -> None:
    """All ranks leave the process group together: left to exit handlers, a rank whose peer had
    already gone was once seen to abort ("terminate called without an active exception")."""
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), *map(int, sys.argv[5:]))

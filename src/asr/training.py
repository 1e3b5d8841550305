"""Training from a composed Hydra config: the work behind `scripts/train.py`."""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from asr.averaging import EPOCH_NAME
from asr.checkpointing import LAST, AtomicCheckpointIO, ResumableTraining, csv_logger, find_resume_checkpoint
from asr.curves import plot_learning_curves
from asr.data.datamodule import SpeechDataModule, data_settings
from asr.data.manifest import OnError
from asr.decoder_config import DecoderConfig, write_run_files
from asr.module import SpeechRecognizer
from asr.precision import resolve_precision
from asr.text import CharTokenizer
from asr.tuning import tune_decoder

log = logging.getLogger(__name__)


def _plain(node: DictConfig) -> dict:
    return OmegaConf.to_container(node, resolve=True)


def train(cfg: DictConfig) -> Path:
    """Fit the model on `cfg.data`; return the checkpoint with the best validation WER (the last
    checkpoint when training stopped before its first validation).

    Beside the checkpoints go the lexicon and LM of the training transcripts and, with
    `decoder=beam`, the LM weight and word score tuned on the validation split (`decoder.json`;
    the grid in `decoder_tuning.tsv`). Also writes `fit_summary.json` (best checkpoint and WER,
    epochs, steps, parameters, fit time, the part of it spent in training epochs, the audio
    seconds in one training epoch, the tuned decoder) to the run's folder, for scripts and
    benchmarks that compare runs.
    """
    decoder = DecoderConfig.from_cfg(cfg.decoder)
    on_error = OnError.parse(cfg.data.on_error, "data.on_error")
    if rank_zero_only.rank != 0:
        logging.getLogger().setLevel(logging.WARNING)  # one log: rank zero's
    L.seed_everything(cfg.seed, workers=True, verbose=rank_zero_only.rank == 0)
    output_dir = Path(cfg.paths.output_dir)
    checkpoints = output_dir / "checkpoints"
    resume_from = find_resume_checkpoint(cfg.resume, output_dir)
    tokenizer = CharTokenizer(spoken_form=cfg.data.text.normalize)
    module = SpeechRecognizer(
        tokenizer.to_dict(),
        _plain(cfg.features),
        _plain(cfg.model),
        _plain(cfg.optim),
        augment=_plain(cfg.augment) if cfg.augment else None,
        on_error=on_error,
        speaker_adversary=cfg.speaker_adversary,
    )
    if cfg.init_from and resume_from is None:
        module.recognizer.adopt_weights(cfg.init_from)
        log.info("starting from the weights of %s", cfg.init_from)
    if cfg.freeze_layers:
        if not cfg.init_from:
            raise ValueError(
                f"freeze_layers={cfg.freeze_layers} holds the weights of init_from's lower layers: "
                "set init_from=CHECKPOINT too, or freeze_layers=0"
            )
        module.recognizer.model.freeze_lower(cfg.freeze_layers)
        log.info("frozen: the front end and the lowest %d of the recurrent layers", cfg.freeze_layers)
    if decoder.name == "joint" and module.recognizer.attention is None:
        raise ValueError("decoder=joint decodes a model with an attention decoder: add model=ctc_attention")
    datamodule = SpeechDataModule(
        tokenizer=tokenizer,
        sample_rate=cfg.features.sample_rate,
        seed=cfg.seed,
        frames_per_second=module.recognizer.frames_per_second,
        **data_settings(_plain(cfg.data), on_error),
    )
    best = ModelCheckpoint(
        dirpath=checkpoints, filename="best", monitor="val_wer", mode="min", enable_version_counter=False
    )
    epochs = (
        [
            ModelCheckpoint(
                dirpath=checkpoints,
                filename=EPOCH_NAME,
                monitor="epoch",
                mode="max",
                save_top_k=cfg.keep_epoch_checkpoints,
                auto_insert_metric_name=False,
                enable_version_counter=False,
            )
        ]
        if cfg.keep_epoch_checkpoints
        else []
    )
    loggers = [csv_logger(output_dir, resume_from, cfg.checkpoint_every_n_steps)]
    if cfg.tensorboard:
        loggers.append(TensorBoardLogger(output_dir, name="logs", version=loggers[0].version))
    timer = TrainTimer()
    lm_order = cfg.lm.order if "order" in cfg.lm else None
    trainer = L.Trainer(
        **resolve_precision(_plain(cfg.trainer)),
        callbacks=[
            best,
            *epochs,
            LearningRateMonitor("step"),
            EpochSummary(),
            SamplerEpoch(),
            timer,
            DecoderFiles(checkpoints, lm_order),
            ResumableTraining(checkpoints / LAST, cfg.checkpoint_every_n_steps),
        ],
        logger=loggers,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=output_dir,
    )
    # Lightning cannot see that the data module restores the sampler's place in the epoch
    # (`SpeechDataModule.state_dict`) and would warn that a mid-epoch resume is unreliable.
    warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch")
    start = time.monotonic()
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    except torch.OutOfMemoryError as err:
        raise torch.OutOfMemoryError(module.out_of_memory_message(cfg.data.batch_seconds)) from err
    _leave_process_group()
    score = best.best_model_score
    checkpoint = best.best_model_path or (str(checkpoints / LAST) if (checkpoints / LAST).is_file() else "")
    if not checkpoint:
        raise RuntimeError(f"training ended without saving a checkpoint under {checkpoints}")
    summary = {
        "best_checkpoint": checkpoint,
        "best_val_wer": None if score is None else float(score),
        "epochs": trainer.current_epoch,
        "steps": trainer.global_step,
        "params": sum(p.numel() for p in module.parameters()),
        "precision": trainer.precision,
        "fit_seconds": round(time.monotonic() - start, 1),
        "train_seconds": round(timer.seconds, 1),
        "train_audio_seconds": round(datamodule.epoch_audio_seconds(), 1),
    }
    if score is None and trainer.is_global_zero:
        log.warning(
            "training stopped before its first validation: no val_wer; the last checkpoint is %s", checkpoint
        )
    else:
        log.info("best checkpoint %s (val_wer %.4f)", checkpoint, score)
    if decoder.name == "beam" and trainer.is_global_zero:
        summary["decoder"] = tune_decoder(
            checkpoint,
            cfg.data.val_manifest,
            decoder,
            output_dir / "decoder_tuning.tsv",
            on_error=on_error,
        )
    if trainer.is_global_zero:
        (output_dir / "fit_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        curves = plot_learning_curves(
            Path(loggers[0].log_dir) / "metrics.csv", output_dir / "learning_curves.png"
        )
        log.info("learning curves %s", curves)
    return Path(checkpoint)


def _leave_process_group() -> None:
    """Under DDP, every rank leaves the process group together once fitting is done (what follows,
    rank zero's decoder tuning and files, needs no collective). Left to exit handlers, while rank
    zero works on and the others have gone, a gloo rank was once seen to abort at exit."""
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


class DecoderFiles(Callback):
    """Writes the lexicon and word n-gram LM of the training transcripts beside the checkpoints as
    fitting starts (rank zero only), so that every checkpoint can be beam-decoded as soon as it exists."""

    def __init__(self, folder: Path, lm_order: int | None) -> None:
        self.folder = folder
        self.lm_order = lm_order

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            sentences = [u.text.split() for u in trainer.datamodule.datasets["train"].utterances]
            for path in write_run_files(self.folder, sentences, self.lm_order):
                log.info("decoder file %s", path)


class EpochSummary(Callback):
    """One log line per epoch (after its validation) with losses and error rates, readable in any log."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        shown = ("train_loss", "val_loss", "val_wer", "val_cer")
        values = "  ".join(
            f"{k} {trainer.callback_metrics[k]:.4f}" for k in shown if k in trainer.callback_metrics
        )
        log.info("epoch %d  step %d  %s", trainer.current_epoch, trainer.global_step, values)


class SamplerEpoch(Callback):
    """Tells the training batch sampler which epoch begins: its shuffle, its draw of joined corpora
    and every utterance's perturbation seed depend on it (`DurationBatchSampler.set_epoch`).

    Lightning passes the epoch only to a loader's `sampler` and to its batch sampler's `sampler`,
    never to a batch sampler itself, so without this every epoch repeated the first: the same batch
    order, the same stretch of a fractional corpus and the same speed and noise for each utterance.
    The hook runs before Lightning creates the epoch's iterator (the first epoch's, created
    earlier, is epoch 0 anyway, and a resumed run's is placed by `SpeechDataModule.load_state_dict`).
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.train_dataloader.batch_sampler.set_epoch(trainer.current_epoch)


class TrainTimer(Callback):
    """Seconds spent in training epochs, data loading included, validation and checkpointing not.

    Throughput of training proper, which the fit time blurs with validation decoding.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        if self._start is None:  # a run resumed inside an epoch gets no epoch start
            self._start = time.monotonic()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._start is not None:
            self.seconds += time.monotonic() - self._start
            self._start = None

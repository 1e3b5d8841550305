"""Killed, preempted and resumed training: `resume=auto` continues exactly where a run stopped."""

from __future__ import annotations

import csv
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from asr.checkpointing import AtomicCheckpointIO, find_resume_checkpoint
from tests.conftest import TINY_DATA

ROOT = Path(__file__).resolve().parents[1]
# Eight batches an epoch (cut by the perturbed lengths), three epochs; speed, noise, silence
# padding, SpecAugment and dropout all draw random numbers, so an inexact resume shows in the losses.
BATCHES, EPOCHS = 8, 3
RUN = [
    *TINY_DATA,
    "data.batch_seconds=8",
    "data.speed_perturb=[0.9,1.0,1.1]",
    "data.noise_snr_db=[10,30]",
    "model.hidden_size=32",
    "model.num_layers=2",
    f"trainer.max_epochs={EPOCHS}",
    "trainer.log_every_n_steps=1",
    "+trainer.enable_progress_bar=false",
    "decoder=greedy",
    "checkpoint_every_n_steps=3",
]


def _start(data: Path, run: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "train.py"),
            f"paths.root={data}",
            f"hydra.run.dir={run}",
            *RUN,
            *extra,
        ],
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out
    return out


def _wait_for(ready: Callable[[], bool], process: subprocess.Popen) -> None:
    while not ready():
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.02)


def _losses(run: Path) -> dict[int, float]:
    rows = csv.DictReader((run / "logs" / "version_0" / "metrics.csv").open(newline=""))
    return {int(r["step"]): float(r["train_loss"]) for r in rows if r["train_loss"]}


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def unbroken(data: Path) -> Path:
    run = data / "unbroken"
    _finish(_start(data, run, "tensorboard=true"))
    return run


def test_a_run_leaves_learning_curves_and_on_request_tensorboard_events(unbroken: Path) -> None:
    png = unbroken / "learning_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((unbroken / "logs" / "version_0").glob("events.out.tfevents.*"))


def test_kill_9_mid_epoch_then_resume_auto_continues_exactly(data: Path, unbroken: Path) -> None:
    run = data / "killed"
    process = _start(data, run)
    last = run / "checkpoints" / "last.ckpt"
    _wait_for(last.is_file, process)
    # Lightning saves a step's checkpoint before it logs that step's loss, so a kill between the
    # two loses the last row before the checkpoint from the CSV log (not from training): wait
    # for the row, so that what is compared is the training, not that window.
    step, log = _load(last)["global_step"] - 1, run / "logs" / "version_0" / "metrics.csv"
    _wait_for(lambda: log.is_file() and step in _losses(run), process)
    process.kill()
    process.communicate()
    saved = _load(last)
    assert saved["global_step"] % BATCHES != 0, "the kill should land inside an epoch"
    out = _finish(_start(data, run, "resume=auto"))
    assert f"continuing from {last}" in out
    expected, resumed = _losses(unbroken), _losses(run)
    assert sorted(resumed) == sorted(expected) == list(range(BATCHES * EPOCHS))
    for step, loss in expected.items():
        assert resumed[step] == pytest.approx(loss, abs=1e-6), step
    final, reference = _load(last)["state_dict"], _load(unbroken / "checkpoints" / "last.ckpt")["state_dict"]
    for name, weights in reference.items():
        torch.testing.assert_close(final[name], weights, atol=1e-6, rtol=0)


def test_sigterm_mid_epoch_saves_a_loadable_checkpoint_and_exits_cleanly(data: Path, unbroken: Path) -> None:
    run = data / "terminated"
    process = _start(data, run)
    last = run / "checkpoints" / "last.ckpt"
    _wait_for(last.is_file, process)
    process.send_signal(signal.SIGTERM)
    out = _finish(process)
    assert "stopped by a signal at step" in out
    saved = _load(last)
    assert 3 <= saved["global_step"] < BATCHES * EPOCHS and "optimizer_states" in saved
    out = _finish(_start(data, run, "resume=auto"))
    final, reference = _load(last)["state_dict"], _load(unbroken / "checkpoints" / "last.ckpt")["state_dict"]
    for name, weights in reference.items():
        torch.testing.assert_close(final[name], weights, atol=1e-6, rtol=0)


def test_resume_auto_without_a_checkpoint_starts_fresh_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert find_resume_checkpoint("auto", tmp_path) is None
    assert "no checkpoint" in caplog.text and "starting fresh" in caplog.text
    assert find_resume_checkpoint(None, tmp_path) is None
    with pytest.raises(FileNotFoundError, match=r"resume=.*nope\.ckpt.*resume=auto"):
        find_resume_checkpoint(str(tmp_path / "nope.ckpt"), tmp_path)


def test_resume_auto_takes_the_newest_checkpoint_including_a_slurm_requeue_one(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    for i, name in enumerate(["checkpoints/best.ckpt", "checkpoints/last.ckpt", "hpc_ckpt_1.ckpt"]):
        (tmp_path / name).write_bytes(b"x")
        time_ns = 1_000_000_000 * (i + 1)
        os.utime(tmp_path / name, ns=(time_ns, time_ns))
    assert find_resume_checkpoint("auto", tmp_path) == tmp_path / "hpc_ckpt_1.ckpt"


def test_a_checkpoint_write_that_fails_leaves_the_previous_one_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, path)

    def killed_half_way(obj: object, target: Path) -> None:
        Path(target).write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(3)}, path)
    assert io.load_checkpoint(path)["global_step"] == 1


def test_sigterm_to_one_ddp_rank_stops_every_rank_with_one_checkpoint(data: Path) -> None:
    """Two gloo ranks, SIGTERM to rank zero alone (a scheduler signalling the launching process):
    every rank learns of it at the end of the batch, they save together and exit 0, and the run
    resumes. Lightning's own handler deadlocked here, broadcasting from inside the handler while
    the other rank was in the gradient all-reduce."""
    ddp = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32"]
    run = data / "ddp-terminated"
    process = _start(data, run, *ddp)
    last = run / "checkpoints" / "last.ckpt"
    _wait_for(last.is_file, process)
    process.send_signal(signal.SIGTERM)
    out = _finish(process)
    assert out.count("stopped by a signal at step") == 1, out
    saved = _load(last)
    assert len(saved["callbacks"]["ResumableTraining"]["rng"]) == 2, "both ranks' random states"
    stopped_at = saved["global_step"]
    out = _finish(_start(data, run, *ddp, "resume=auto"))
    assert f"continuing from {last}" in out
    assert stopped_at < _load(last)["global_step"]

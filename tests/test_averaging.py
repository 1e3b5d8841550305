"""Checkpoint averaging: the element-wise mean of a run's last epochs, usable like any checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asr.averaging import average_checkpoints, average_run, epoch_checkpoints
from asr.recognizer import Recognizer


def _copies(source: Path, folder: Path, names: list[str], scale: dict[str, float]) -> list[Path]:
    """Copies of `source` whose weights are multiplied by scale[name]."""
    ckpt = torch.load(source, weights_only=True)
    paths = []
    for name in names:
        state = {k: v * scale[name] for k, v in ckpt["state_dict"].items()}
        path = folder / name
        torch.save({**ckpt, "state_dict": state, "optimizer_states": [{}]}, path)
        paths.append(path)
    return paths


def test_the_average_is_the_element_wise_mean_and_loads_as_a_recogniser(
    untrained_checkpoint: Path, tmp_path: Path
) -> None:
    paths = _copies(
        untrained_checkpoint,
        tmp_path,
        ["a.ckpt", "b.ckpt", "c.ckpt"],
        {"a.ckpt": 1, "b.ckpt": 2, "c.ckpt": 6},
    )
    averaged = average_checkpoints(paths)
    original = torch.load(untrained_checkpoint, weights_only=True)["state_dict"]
    for name, weights in original.items():
        torch.testing.assert_close(averaged["state_dict"][name], weights * 3)
    assert "optimizer_states" not in averaged
    out = tmp_path / "averaged.ckpt"
    torch.save(averaged, out)
    Recognizer.from_checkpoint(out)


def test_checkpoints_of_another_recogniser_are_named(untrained_checkpoint: Path, tmp_path: Path) -> None:
    (good,) = _copies(untrained_checkpoint, tmp_path, ["good.ckpt"], {"good.ckpt": 1})
    ckpt = torch.load(untrained_checkpoint, weights_only=True)
    other = tmp_path / "other.ckpt"
    torch.save({**ckpt, "hyper_parameters": {**ckpt["hyper_parameters"], "model": {"hidden_size": 8}}}, other)
    with pytest.raises(ValueError, match=r"other\.ckpt holds another recogniser"):
        average_checkpoints([good, other])


def test_average_run_takes_the_newest_epochs_by_number(untrained_checkpoint: Path, tmp_path: Path) -> None:
    names = ["epoch008.ckpt", "epoch009.ckpt", "epoch010.ckpt", "best.ckpt", "last.ckpt"]
    _copies(
        untrained_checkpoint,
        tmp_path,
        names,
        {"epoch008.ckpt": 100, "epoch009.ckpt": 1, "epoch010.ckpt": 3, "best.ckpt": 50, "last.ckpt": 50},
    )
    assert [p.name for p in epoch_checkpoints(tmp_path)] == names[:3]
    out = average_run(tmp_path, last=2)
    assert out == tmp_path / "averaged.ckpt"
    original = torch.load(untrained_checkpoint, weights_only=True)["state_dict"]
    name = next(iter(original))
    torch.testing.assert_close(torch.load(out, weights_only=True)["state_dict"][name], original[name] * 2)
    with pytest.raises(
        ValueError, match=r"has 3 per-epoch checkpoints, cannot average the last 4.*keep_epoch_checkpoints"
    ):
        average_run(tmp_path, last=4)

"""Two DDP ranks (gloo, CPU) train and validate like one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent


def _run(manifests: Path, devices: int, per_rank: int, out: Path, *extra: str) -> list[dict]:
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "ddp_steps.py"),
            str(manifests),
            str(devices),
            str(per_rank),
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(devices)]


def test_two_ranks_with_batch_b_equal_one_process_with_batch_2b(tiny_corpus: dict, tmp_path: Path) -> None:
    manifests = tiny_corpus["train"].parent
    (single,) = _run(manifests, 1, 4, tmp_path / "one")
    ranks = _run(manifests, 2, 2, tmp_path / "two")
    assert len(single["losses"]) == 20
    for step, loss in enumerate(single["losses"]):
        mean = sum(rank["losses"][step] for rank in ranks) / 2
        assert mean == pytest.approx(loss, abs=1e-5), step
    one, two = torch.load(tmp_path / "one" / "weights.pt"), torch.load(tmp_path / "two" / "weights.pt")
    for name, weights in one.items():
        torch.testing.assert_close(two[name], weights, atol=1e-5, rtol=0)
    # Corpus-level validation: both ranks report the one-process values (a mean of per-rank
    # rates would not, the shards being of different sizes and error rates).
    assert 0 < single["val"]["val_cer"] < 1
    for rank in ranks:
        for name, value in single["val"].items():
            assert rank["val"][name] == pytest.approx(value, abs=1e-6), name


def test_a_batch_one_rank_cannot_use_leaves_the_update_to_the_others(
    tiny_corpus: dict, tmp_path: Path
) -> None:
    """With data.on_error=skip, rank 1's step 5 is NaN audio. Skipping it on rank 1 alone would
    leave rank 0 waiting in the gradient all-reduce (Lightning refuses it outright); instead rank 1
    contributes a zero gradient and rank 0 its batch's at full weight. The ranks stay identical."""
    out = tmp_path / "two"
    ranks = _run(tiny_corpus["train"].parent, 2, 2, out, "5")
    zero, one = ranks
    assert one["losses"][5] == 0.0 and zero["losses"][5] > 0
    assert one["skipped_batches"] == zero["skipped_batches"] == 1, "summed over ranks"
    assert len(zero["losses"]) == len(one["losses"]) == 20 and zero["steps"] == one["steps"] == 20
    first, second = torch.load(out / "weights0.pt"), torch.load(out / "weights1.pt")
    for name, weights in first.items():
        assert torch.isfinite(weights).all(), name
        torch.testing.assert_close(second[name], weights, atol=0, rtol=0)

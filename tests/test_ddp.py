"""Two DDP ranks (gloo, CPU) train and validate like one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent


def _run(manifests: Path, devices: int, per_rank: int, out: Path) -> list[dict]:
    out.mkdir()
    done = subprocess.run(
        [sys.executable, str(HERE / "ddp_steps.py"), str(manifests), str(devices), str(per_rank), str(out)],
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

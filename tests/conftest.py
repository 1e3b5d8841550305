"""Shared fixtures: a tiny synthetic corpus generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asr.data.corpora.synthetic import SyntheticConfig, generate

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"

TINY = SyntheticConfig(
    train_size=48, val_size=12, test_size=12, seed=7, val_voices=4, test_voices=4, sentences=300
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(TINY, tmp_path_factory.mktemp("synthetic"), workers=2)

"""Shared fixtures: a tiny synthetic corpus generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asr.data.corpora.synthetic import SyntheticConfig, generate

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"

# The same tiny corpus as Hydra overrides, for tests that train through conf/train.yaml.
TINY_DATA = [
    "data.corpus.train_size=24",
    "data.corpus.val_size=6",
    "data.corpus.test_size=6",
    "data.corpus.seed=3",
    "+data.corpus.val_voices=2",
    "+data.corpus.test_voices=2",
    "+data.corpus.sentences=100",
    "data.corpus.festival_size=0",
    "data.corpus.piper_size=0",
]

TINY = SyntheticConfig(
    train_size=48, val_size=12, test_size=12, seed=7, val_voices=4, test_voices=4, sentences=300
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(TINY, tmp_path_factory.mktemp("synthetic"), workers=2)


def save_untrained_checkpoint(
    path: Path,
    seed: int = 0,
    features: dict | None = None,
    model: dict | None = None,
    alphabet: str | None = None,
) -> Path:
    """A small recogniser with random weights from `seed`, saved at `path` as training saves it;
    `features` and `model` override its settings, `alphabet` its tokenizer's."""
    from asr.recognizer import PREFIX, SCHEMA_VERSION, Recognizer
    from asr.text import CharTokenizer

    torch.manual_seed(seed)
    hparams = {
        "tokenizer": (CharTokenizer(alphabet) if alphabet else CharTokenizer()).to_dict(),
        "features": {"n_mels": 40, **(features or {})},
        "model": {"hidden_size": 16, "num_layers": 1, **(model or {})},
        "schema_version": SCHEMA_VERSION,
    }
    recognizer = Recognizer(hparams["tokenizer"], hparams["features"], hparams["model"])
    state = {PREFIX + k: v for k, v in recognizer.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"hyper_parameters": hparams, "state_dict": state}, path)
    return path


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small recogniser with random weights, saved as training saves it: for tests of the
    inference path that need a checkpoint but not a good model."""
    return save_untrained_checkpoint(tmp_path_factory.mktemp("untrained") / "model.ckpt")

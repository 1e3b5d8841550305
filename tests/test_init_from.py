"""`init_from`: fine-tuning starts from another run's weights, or says why it cannot."""

from pathlib import Path

import pytest
import torch

from asr.recognizer import CheckpointError, Recognizer
from tests.conftest import save_untrained_checkpoint


def test_adopted_weights_are_the_checkpoint_s_whatever_the_normalisation(tmp_path: Path) -> None:
    source = save_untrained_checkpoint(tmp_path / "a.ckpt", seed=1)
    target = Recognizer.from_checkpoint(save_untrained_checkpoint(tmp_path / "b.ckpt", seed=2))
    before = {k: v.clone() for k, v in target.state_dict().items()}
    speaker = Recognizer(
        target.tokenizer.to_dict(),
        {"n_mels": 40, "normalize": "speaker"},
        {"hidden_size": 16, "num_layers": 1},
    )
    expected = Recognizer.from_checkpoint(source).state_dict()
    for recognizer in (target, speaker):
        recognizer.adopt_weights(source)
        assert all(torch.equal(value, expected[key]) for key, value in recognizer.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in target.state_dict().items())


@pytest.mark.parametrize(
    ("features", "model", "alphabet", "names"),
    [
        ({"n_mels": 64}, None, None, "n_mels"),
        ({"sample_rate": 8000}, None, None, "sample_rate"),
        (None, {"hidden_size": 24}, None, "model"),
        (None, None, "abc", "characters"),
    ],
)
def test_a_checkpoint_of_another_shape_is_refused_naming_it_and_what_differs(
    tmp_path: Path, features: dict | None, model: dict | None, alphabet: str | None, names: str
) -> None:
    source = save_untrained_checkpoint(tmp_path / "other.ckpt", 1, features, model, alphabet)
    target = Recognizer.from_checkpoint(save_untrained_checkpoint(tmp_path / "mine.ckpt", 2))
    with pytest.raises(CheckpointError, match=rf"init_from {source}.*{names}"):
        target.adopt_weights(source)

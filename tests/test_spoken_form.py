"""`data.text.normalize`: real corpora's transcripts read in their spoken form, in training and scoring."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.data.manifest import ManifestError, read_manifest
from asr.evaluation import SPOKEN, evaluate, format_report
from asr.text import CharTokenizer

RAW = ["Set a timer, for FIFTY-eight minutes!", "Call Mom at 5:30."]
SPOKEN_TEXT = ["set a timer for fifty eight minutes", "call mom at five thirty"]


def _manifest(tmp_path: Path) -> Path:
    rows = []
    for k, text in enumerate(RAW):
        sf.write(str(tmp_path / f"{k}.wav"), 0.1 * np.random.default_rng(k).standard_normal(32000), 16000)
        rows.append({"audio_filepath": f"{k}.wav", "duration": 2.0, "text": text})
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_manifest_is_refused_as_written_and_read_in_spoken_form(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: .*data\.text\.normalize=true"):
        read_manifest(manifest, CharTokenizer())
    assert [u.text for u in read_manifest(manifest, CharTokenizer(spoken_form=True))] == SPOKEN_TEXT


def _checkpoint(untrained: Path, tmp_path: Path, spoken_form: bool) -> Path:
    ckpt = torch.load(untrained, weights_only=True)
    ckpt["hyper_parameters"]["tokenizer"] = CharTokenizer(spoken_form=spoken_form).to_dict()
    path = tmp_path / f"spoken-{spoken_form}.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("trained_spoken, asked", [(True, False), (False, True)])
def test_scoring_normalises_references_as_training_did_or_as_asked(
    untrained_checkpoint: Path, tmp_path: Path, trained_spoken: bool, asked: bool
) -> None:
    """A checkpoint trained with data.text.normalize=true scores raw references in their spoken
    form by itself; any checkpoint does when decode.py is given data.text.normalize=true."""
    ckpt = _checkpoint(untrained_checkpoint, tmp_path, trained_spoken)
    report = evaluate(ckpt, _manifest(tmp_path), device="cpu", spoken_form=asked)
    assert [row["reference"] for row in report["hypotheses"]] == SPOKEN_TEXT
    assert report["references"] == SPOKEN
    assert f"references {SPOKEN}" in format_report(report)


def test_training_with_the_switch_saves_it_in_the_checkpoint(tmp_path: Path) -> None:
    from hydra import compose, initialize_config_dir

    from asr.training import train

    manifest = _manifest(tmp_path)
    overrides = [f"paths.root={tmp_path}", f"paths.output_dir={tmp_path / 'run'}", "data=manifest"]
    overrides += [f"data.{split}_manifest={manifest}" for split in ("train", "val", "test")]
    overrides += ["data.text.normalize=true", "model.hidden_size=16", "model.num_layers=1", "decoder=greedy"]
    overrides += ["trainer.max_epochs=1", "+trainer.enable_progress_bar=false", "keep_epoch_checkpoints=0"]
    with initialize_config_dir(str(Path(__file__).resolve().parents[1] / "conf"), version_base="1.3"):
        cfg = compose("train", overrides)
    ckpt = train(cfg)
    assert torch.load(ckpt, weights_only=True)["hyper_parameters"]["tokenizer"]["spoken_form"] is True
    lm = (ckpt.parent / "lm.arpa").read_text()
    assert "fifty" in lm and "," not in lm.split("\\1-grams:")[1], "the LM learns the spoken form too"

"""The decoder config group: options checked once, the run's files found beside the checkpoint,
tuned values used only for the lexicon and LM they were tuned with, bad files named."""

import json
import logging
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from asr.decoder_config import (
    DecoderConfig,
    beam_settings,
    build_decoder,
    resolve_files,
    write_run_files,
    write_tuned,
)
from asr.decoding import BeamSearchDecoder, GreedyDecoder
from asr.lexicon import LexiconError, read_lexicon
from asr.lm import LanguageModelError
from asr.text import CharTokenizer
from asr.training import train

ROOT = Path(__file__).resolve().parents[1]
TOK = CharTokenizer()


def beam_config(**overrides: object) -> DecoderConfig:
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("decode", overrides=["ckpt=x", *(f"decoder.{k}={v}" for k, v in overrides.items())])
    return DecoderConfig.from_cfg(cfg.decoder)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A checkpoint folder as training leaves it (the checkpoint itself is not read here)."""
    write_run_files(tmp_path, [["turn", "on", "the", "lights"], ["turn", "off", "the", "radio"]], lm_order=2)
    return tmp_path / "best.ckpt"


def test_the_shipped_configs_parse() -> None:
    cfg = beam_config()
    assert cfg.name == "beam" and cfg.lexicon == cfg.lm == "auto"
    assert cfg.lm_weight is None and len(cfg.tune_lm_weight) * len(cfg.tune_word_score) > 1
    assert DecoderConfig.from_cfg({"name": "greedy"}) == DecoderConfig("greedy")
    with pytest.raises(ValueError, match=r"decoder=greedy\|beam"):
        DecoderConfig.from_cfg({"name": "beem"})
    assert beam_config(lexicon="null").lexicon is None


def test_auto_finds_the_runs_files_and_paths_must_exist(run: Path, tmp_path: Path) -> None:
    files = resolve_files(beam_config(), run)
    assert files.lexicon == run.parent / "lexicon.txt" and files.lm == run.parent / "lm.arpa"
    assert resolve_files(beam_config(), tmp_path / "elsewhere" / "best.ckpt").lm is None
    with pytest.raises(FileNotFoundError, match=r"lm .*nowhere.arpa does not exist"):
        resolve_files(beam_config(lm=tmp_path / "nowhere.arpa"), run)
    assert read_lexicon(files.lexicon, TOK) == ["lights", "off", "on", "radio", "the", "turn"]


def test_tuned_values_serve_the_pair_they_were_tuned_for(run: Path, tmp_path: Path) -> None:
    files = resolve_files(beam_config(), run)
    with pytest.raises(ValueError, match=r"tune_decoder\.py"):
        beam_settings(beam_config(), run, files)
    write_tuned(run, files, {"lm_weight": 0.75, "word_score": 2.0})
    tuned = beam_settings(beam_config(), run, files)
    assert (tuned.lm_weight, tuned.word_score) == (0.75, 2.0)
    assert beam_settings(beam_config(lm_weight=0.1), run, files).lm_weight == 0.1  # the command line wins
    free = resolve_files(beam_config(lexicon="null"), run)
    with pytest.raises(ValueError, match=r"lexicon None and lm lm\.arpa"):
        beam_settings(beam_config(lexicon="null"), run, free)
    write_tuned(run, free, {"lm_weight": 0.5, "word_score": 1.0})
    write_tuned(run, files, {"lm_weight": 1.0, "word_score": 0.0})  # retuned: replaces its old entry
    tuned = json.loads((run.parent / "decoder.json").read_text())["tuned"]
    assert [(e["lexicon"], e["lm_weight"]) for e in tuned] == [(None, 0.5), ("lexicon.txt", 1.0)]


def test_build_decoder_reads_the_run_or_falls_back_to_greedy(
    run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_tuned(run, resolve_files(beam_config(), run), {"lm_weight": 1.0, "word_score": 0.0})
    decoder = build_decoder(beam_config(), run, TOK)
    assert isinstance(decoder, BeamSearchDecoder) and decoder.lexicon is not None and decoder.lm is not None
    assert isinstance(build_decoder(DecoderConfig("greedy"), run, TOK), GreedyDecoder)
    with caplog.at_level(logging.WARNING):
        fallback = build_decoder(beam_config(), tmp_path / "old" / "best.ckpt", TOK)
    assert isinstance(fallback, GreedyDecoder) and "decoding greedily" in caplog.text


def test_a_garbled_or_empty_lm_or_lexicon_is_a_named_error(run: Path, tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.arpa"
    garbled.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0 a\n")
    with pytest.raises(LanguageModelError, match=str(garbled)):
        build_decoder(beam_config(lm=garbled, lm_weight=1, word_score=0), run, TOK)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(LexiconError, match=f"lexicon {empty} has no words"):
        build_decoder(beam_config(lexicon=empty, lm_weight=1, word_score=0), run, TOK)
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\nrock n roll\n")
    with pytest.raises(LexiconError, match=f"{bad}:2: 'rock n roll' is not one word"):
        read_lexicon(bad, TOK)
    bad.write_text("hello\nR2D2\n")
    with pytest.raises(LexiconError, match=rf"{bad}:2: .*\['2'\]"):
        read_lexicon(bad, TOK)


def test_joint_decoding_without_an_attention_decoder_names_the_options(tmp_path: Path) -> None:
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("decode", overrides=["ckpt=x", "decoder=joint"])
    joint = DecoderConfig.from_cfg(cfg.decoder)
    assert (joint.name, joint.beam_size, joint.ctc_weight) == ("joint", 10, 0.3)
    with pytest.raises(ValueError, match=r"model=ctc_attention.*decoder=beam or decoder=greedy"):
        build_decoder(joint, tmp_path / "best.ckpt", TOK)


def test_training_for_the_joint_search_without_an_attention_decoder_stops_before_it_starts(
    tmp_path: Path,
) -> None:
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train", overrides=[f"paths.root={tmp_path}", f"paths.output_dir={tmp_path}", "decoder=joint"]
        )
    with pytest.raises(ValueError, match="add model=ctc_attention"):
        train(cfg)
    assert not (tmp_path / "checkpoints").exists()

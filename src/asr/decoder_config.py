"""The `decoder` config group made into a decoder: options checked once where the config enters,
and the run's lexicon, language model and tuned weights found beside its checkpoint.

`decoder=joint` is the joint CTC/attention search of a `model=ctc_attention` recogniser: it reads
the encoder states besides the CTC log-probabilities (`decode_text`) and runs the recogniser's
attention decoder, so it needs the torch backend.

Training writes, next to `best.ckpt`: `lexicon.txt` (the words of its training transcripts),
`lm.arpa` (their word n-gram model) and, once tuned on validation, `decoder.json` (the LM weight
and word score found for each lexicon + LM pair). Copying the checkpoint folder keeps them together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from asr.decoding import BeamSearchDecoder, BeamSettings, GreedyDecoder
from asr.lexicon import read_lexicon, write_lexicon
from asr.lm import estimate, read_arpa, write_arpa
from asr.text import CharTokenizer

if TYPE_CHECKING:  # torch only where decoder=joint is used: the ONNX path does not import it
    from asr.attention import AttentionDecoder
    from asr.joint_search import JointDecoder

log = logging.getLogger(__name__)

LEXICON_FILE = "lexicon.txt"
LM_FILE = "lm.arpa"
TUNED_FILE = "decoder.json"
RUN_FILES = "auto"  # in decoder.lexicon / decoder.lm: the file training wrote beside the checkpoint

Decoder: TypeAlias = "GreedyDecoder | BeamSearchDecoder | JointDecoder"


@dataclass(frozen=True)
class DecoderConfig:
    """A validated `decoder` config: greedy; beam with where its lexicon and LM come from; or joint."""

    name: str
    lexicon: str | None = None
    lm: str | None = None
    beam_size: int = 0
    beam_threshold: float = 0.0
    lm_weight: float | None = None
    word_score: float | None = None
    tune_lm_weight: tuple[float, ...] = ()
    tune_word_score: tuple[float, ...] = ()
    ctc_weight: float = 0.0

    @classmethod
    def from_cfg(cls, node: Mapping) -> DecoderConfig:
        """From the `decoder` config node (or any mapping with its keys)."""
        plain = dict(node)
        name = plain.get("name")
        if name == "greedy":
            return cls("greedy")
        if name == "joint":
            return cls("joint", beam_size=int(plain["beam_size"]), ctc_weight=float(plain["ctc_weight"]))
        if name != "beam":
            raise ValueError(
                f"decoder must be greedy, beam or joint (decoder=greedy|beam|joint), not {name!r}"
            )
        tune = plain.get("tune") or {}
        return cls(
            "beam",
            lexicon=_optional_str(plain.get("lexicon")),
            lm=_optional_str(plain.get("lm")),
            beam_size=int(plain["beam_size"]),
            beam_threshold=float(plain["beam_threshold"]),
            lm_weight=_optional_float(plain.get("lm_weight")),
            word_score=_optional_float(plain.get("word_score")),
            tune_lm_weight=tuple(float(x) for x in tune.get("lm_weight", ())),
            tune_word_score=tuple(float(x) for x in tune.get("word_score", ())),
        )


def _optional_str(value: object) -> str | None:
    return None if value is None or str(value).lower() in ("null", "none", "") else str(value)


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class RunFiles:
    """The lexicon and LM a beam search uses, resolved to paths (None: not used)."""

    lexicon: Path | None
    lm: Path | None

    def key(self, folder: Path) -> dict:
        """How decoder.json names this pair: paths relative to the checkpoint folder where inside it."""
        return {"lexicon": _relative(self.lexicon, folder), "lm": _relative(self.lm, folder)}


def _relative(path: Path | None, folder: Path) -> str | None:
    if path is None:
        return None
    path = path.resolve()
    return str(path.relative_to(folder.resolve())) if path.is_relative_to(folder.resolve()) else str(path)


def resolve_files(cfg: DecoderConfig, ckpt: str | Path) -> RunFiles:
    """`auto` is the run's own file when it exists (else none); a path must exist."""

    def one(value: str | None, name: str, what: str) -> Path | None:
        if value is None:
            return None
        if value == RUN_FILES:
            beside = Path(ckpt).parent / name
            return beside if beside.is_file() else None
        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} does not exist: fix decoder.{what}, or set it to auto")
        return path

    return RunFiles(one(cfg.lexicon, LEXICON_FILE, "lexicon"), one(cfg.lm, LM_FILE, "lm"))


def read_tuned(ckpt: str | Path) -> list[dict]:
    """Every tuned entry of the run's decoder.json; none if it has not been tuned."""
    path = Path(ckpt).parent / TUNED_FILE
    if not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text())["tuned"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a decoder tuning file ({err}): delete it and retune") from err


def write_tuned(ckpt: str | Path, files: RunFiles, entry: dict) -> dict:
    """Record tuned values for this lexicon + LM pair in decoder.json, replacing an earlier entry for
    the same pair; return the entry as recorded."""
    folder = Path(ckpt).parent
    key = files.key(folder)
    recorded = {**key, **entry}
    tuned = [e for e in read_tuned(ckpt) if {k: e.get(k) for k in key} != key] + [recorded]
    (folder / TUNED_FILE).write_text(json.dumps({"tuned": tuned}, indent=2) + "\n")
    return recorded


def beam_settings(cfg: DecoderConfig, ckpt: str | Path, files: RunFiles) -> BeamSettings:
    """The config's LM weight and word score, or where they are null the values tuned for this pair."""
    lm_weight, word_score = cfg.lm_weight, cfg.word_score
    if lm_weight is None or word_score is None:
        key = files.key(Path(ckpt).parent)
        match = [e for e in read_tuned(ckpt) if {k: e.get(k) for k in key} == key]
        if not match:
            raise ValueError(
                f"decoder.lm_weight and decoder.word_score are null (take the tuned values) but nothing "
                f"beside {ckpt} was tuned for lexicon {key['lexicon']} and lm {key['lm']}: give both "
                f"values, or tune them with python scripts/tune_decoder.py ckpt={ckpt} and the same "
                "decoder.* overrides"
            )
        lm_weight = match[-1]["lm_weight"] if lm_weight is None else lm_weight
        word_score = match[-1]["word_score"] if word_score is None else word_score
    return BeamSettings(cfg.beam_size, cfg.beam_threshold, lm_weight, word_score)


def write_run_files(folder: str | Path, sentences: list[list[str]], lm_order: int | None) -> list[Path]:
    """What training leaves beside its checkpoints for decoding: the lexicon of its transcripts and,
    unless `lm_order` is None, their n-gram LM."""
    folder = Path(folder)
    written = [write_lexicon((w for s in sentences for w in s), folder / LEXICON_FILE)]
    if lm_order is not None:
        written.append(write_arpa(estimate(sentences, lm_order), folder / LM_FILE))
    return written


def build_decoder(
    cfg: DecoderConfig,
    ckpt: str | Path,
    tokenizer: CharTokenizer,
    settings: BeamSettings | None = None,
    attention: AttentionDecoder | None = None,
) -> Decoder:
    """The configured decoder for checkpoint `ckpt` (and its `attention` decoder, for joint); greedy,
    with a warning, where a beam search would have neither lexicon nor LM (a run trained before
    they were written)."""
    if cfg.name == "greedy":
        return GreedyDecoder(tokenizer)
    if cfg.name == "joint":
        from asr.joint_search import JointDecoder, JointSettings

        if attention is None:
            raise ValueError(
                f"decoder=joint needs an attention decoder, which {ckpt} does not have (run with the torch "
                "backend a checkpoint trained with model=ctc_attention): use decoder=beam or decoder=greedy"
            )
        return JointDecoder(tokenizer, attention, JointSettings(cfg.beam_size, cfg.ctc_weight))
    files = resolve_files(cfg, ckpt)
    if files.lexicon is None and files.lm is None:
        log.warning(
            "no lexicon or language model beside %s: decoding greedily (give decoder.lm=PATH and/or "
            "decoder.lexicon=PATH, or decoder=greedy to silence this)",
            ckpt,
        )
        return GreedyDecoder(tokenizer)
    settings = settings or beam_settings(cfg, ckpt, files)
    lexicon = read_lexicon(files.lexicon, tokenizer) if files.lexicon else None
    lm = read_arpa(files.lm) if files.lm else None
    log.info("beam search: lexicon %s, lm %s, %s", files.lexicon, files.lm, settings)
    return BeamSearchDecoder(tokenizer, settings, lexicon=lexicon, lm=lm)


def reads_states(decoder: Decoder) -> bool:
    """Whether `decoder` needs the encoder states beside the CTC log-probabilities (the joint search)."""
    return getattr(decoder, "reads_states", False)


def decode_text(decoder: Decoder, log_probs: np.ndarray, states: np.ndarray | None) -> str:
    """One utterance's text: CTC decoders read its log-probabilities, the joint search its encoder
    states too."""
    return decoder.decode(log_probs, states) if reads_states(decoder) else decoder.decode(log_probs)

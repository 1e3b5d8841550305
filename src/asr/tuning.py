"""Choosing the LM weight and word score of a beam search on the validation split.

The acoustic model runs once; every point of the grid decodes the same log-probabilities. The
lowest WER wins (then the lowest CER, then the smaller weight and score); the whole table goes to
the run folder and the choice into `decoder.json` beside the checkpoint, which decoding and
transcription then use whenever `decoder.lm_weight` and `decoder.word_score` are left null.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from pathlib import Path

from asr.data.manifest import OnError
from asr.decoder_config import TUNED_FILE, DecoderConfig, build_decoder, resolve_files, write_tuned
from asr.decoding import BeamSearchDecoder, BeamSettings, GreedyDecoder
from asr.evaluation import acoustic_pass, score
from asr.inference import Transcriber

log = logging.getLogger(__name__)


def tune_decoder(
    ckpt: str | Path,
    manifest: str | Path,
    decoder: DecoderConfig,
    table: str | Path,
    device: str = "auto",
    batch_seconds: float = 120.0,
    on_error: OnError = OnError.RAISE,
) -> dict | None:
    """Grid-search `decoder.tune_*` on `manifest`; record and return the best entry (None when the
    run has no lexicon or LM to tune for)."""
    if decoder.name != "beam":
        raise ValueError("tuning is for the beam search: use decoder=beam")
    if not isinstance(ckpt, str | Path):
        raise ValueError(
            "tuning records its choice beside one checkpoint: give one ckpt (an ensemble decodes "
            "with the weights tuned for its first checkpoint)"
        )
    files = resolve_files(decoder, ckpt)
    if files.lexicon is None and files.lm is None:
        log.warning("nothing to tune beside %s: no lexicon and no language model", ckpt)
        return None
    lm_weights = decoder.tune_lm_weight if files.lm else (0.0,)
    word_scores = decoder.tune_word_score
    if not lm_weights or not word_scores:
        raise ValueError("decoder.tune.lm_weight and decoder.tune.word_score need at least one value each")
    transcriber = Transcriber.from_checkpoint(ckpt, device=device, batch_seconds=batch_seconds)
    tokenizer = transcriber.tokenizer
    first = BeamSettings(decoder.beam_size, decoder.beam_threshold, lm_weights[0], word_scores[0])
    search = build_decoder(decoder, ckpt, tokenizer, settings=first)
    assert isinstance(search, BeamSearchDecoder)
    data = acoustic_pass(transcriber, manifest, on_error)
    greedy, _ = score(GreedyDecoder(tokenizer), data, worst=0)
    grid = []
    for lm_weight, word_score in itertools.product(lm_weights, word_scores):
        settings = replace(first, lm_weight=lm_weight, word_score=word_score)
        result, _ = score(search.with_settings(settings), data, worst=0)
        grid.append(
            {"lm_weight": lm_weight, "word_score": word_score, "wer": result["wer"], "cer": result["cer"]}
        )
    best = min(grid, key=lambda g: (g["wer"], g["cer"], g["lm_weight"], g["word_score"]))
    write_table(grid, greedy, table)
    entry = {
        "lm_weight": best["lm_weight"],
        "word_score": best["word_score"],
        "beam_size": decoder.beam_size,
        "beam_threshold": decoder.beam_threshold,
        "tuned_on": str(manifest),
        "wer": best["wer"],
        "cer": best["cer"],
        "greedy_wer": greedy["wer"],
        "greedy_cer": greedy["cer"],
        "table": str(table),
    }
    recorded = write_tuned(ckpt, files, entry)
    log.info(
        "tuned on %s: lm_weight %s, word_score %s: WER %.2f%% (greedy %.2f%%); recorded in %s, table %s",
        manifest,
        best["lm_weight"],
        best["word_score"],
        100 * best["wer"],
        100 * greedy["wer"],
        Path(ckpt).parent / TUNED_FILE,
        table,
    )
    return recorded


def write_table(grid: list[dict], greedy: dict, path: str | Path) -> Path:
    """The grid as tab-separated values, best first, with greedy decoding's result for reference."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["lm_weight\tword_score\twer\tcer"]
    for g in sorted(grid, key=lambda g: (g["wer"], g["cer"], g["lm_weight"], g["word_score"])):
        lines.append(f"{g['lm_weight']}\t{g['word_score']}\t{g['wer']:.5f}\t{g['cer']:.5f}")
    lines.append(f"greedy\t-\t{greedy['wer']:.5f}\t{greedy['cer']:.5f}")
    path.write_text("\n".join(lines) + "\n")
    return path

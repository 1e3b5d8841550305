"""Scoring a checkpoint on a manifest: the work behind `scripts/decode.py`.

The acoustic model runs once; greedy decoding and the configured decoder (when it is a beam or
joint CTC/attention search) then each decode the same log-probabilities (and encoder states), so
their error rates and decoding times compare like for like.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from asr.backends import Checkpoints, checkpoint_paths
from asr.data.manifest import OnError, read_manifest
from asr.decoder_config import Decoder, DecoderConfig, build_decoder, decode_text, reads_states
from asr.decoding import BeamSearchDecoder, GreedyDecoder
from asr.ensemble import check_decoder
from asr.inference import Transcriber
from asr.metrics import error_report, outside_vocabulary
from asr.text import CharTokenizer

GREEDY = DecoderConfig("greedy")
SPOKEN = "spoken form (data.text.normalize)"


def evaluate(
    ckpt: Checkpoints,
    manifest: str | Path,
    decoder: DecoderConfig = GREEDY,
    device: str = "auto",
    batch_seconds: float = 120.0,
    worst: int = 10,
    on_error: OnError = OnError.RAISE,
    spoken_form: bool = False,
) -> dict:
    """WER/CER report of checkpoint `ckpt` on every usable row of `manifest`: greedy, and beside it
    the configured beam or joint search. `report["decoder"]` names the result that counts. References are
    normalised as the checkpoint's training normalised its transcripts, and in their spoken form
    (`text.spoken_form`) also when `spoken_form` asks for it. Several checkpoints are scored as one
    ensemble, with the lexicon, LM and tuned weights beside the first."""
    paths = checkpoint_paths(ckpt)
    check_decoder(len(paths), decoder.name)
    transcriber = Transcriber.from_checkpoint(paths, device=device, batch_seconds=batch_seconds)
    tokenizer = transcriber.tokenizer
    decoders: dict[str, Decoder] = {"greedy": GreedyDecoder(tokenizer)}
    if decoder.name != "greedy":
        built = build_decoder(decoder, paths[0], tokenizer, attention=transcriber.runner.attention)
        if not isinstance(built, GreedyDecoder):
            decoders[decoder.name] = built
    states = any(reads_states(d) for d in decoders.values())
    data = acoustic_pass(transcriber, manifest, on_error, spoken_form, states)
    results, hypotheses = {}, {}
    for name, search in decoders.items():
        results[name], hypotheses[name] = score(search, data, worst)
    return {
        "checkpoint": str(paths[0]) if len(paths) == 1 else [str(p) for p in paths],
        "manifest": str(manifest),
        "decoder": list(decoders)[-1],
        "references": SPOKEN if spoken_form or tokenizer.spoken_form else "as written",
        "utterances": len(data.references),
        "audio_seconds": round(data.audio_seconds, 2),
        "acoustic_seconds": round(data.acoustic_seconds, 3),
        **results,
        "hypotheses": [
            {"id": i, "reference": ref, **{name: hyps[n] for name, hyps in hypotheses.items()}}
            for n, (i, ref) in enumerate(zip(data.ids, data.references, strict=True))
        ],
    }


@dataclass(frozen=True)
class AcousticPass:
    """A manifest's references and a checkpoint's log-probabilities for them: computed once, decoded
    by any number of decoders."""

    log_probs: list[np.ndarray]
    references: list[str]
    ids: list[str]
    audio_seconds: float
    acoustic_seconds: float
    states: list[np.ndarray] | None = None  # encoder states, for the joint search


def acoustic_pass(
    transcriber: Transcriber,
    manifest: str | Path,
    on_error: OnError = OnError.RAISE,
    spoken_form: bool = False,
    states: bool = False,
) -> AcousticPass:
    """Every usable row of `manifest` through the acoustic model (audio decoding included in the
    time), its transcript normalised by the recogniser's tokenizer (and to its spoken form with
    `spoken_form`); with `states`, the encoder states kept too. Rows with one `speaker` share one
    speaker mean where the recogniser normalises per speaker."""
    tokenizer = transcriber.tokenizer
    if spoken_form:
        tokenizer = CharTokenizer(tokenizer.alphabet, spoken_form=True)
    rows = read_manifest(manifest, tokenizer, on_error=on_error)
    start = time.perf_counter()
    waves = [r.load(transcriber.sample_rate) for r in rows]
    outputs = transcriber.outputs(waves, states, [r.speaker_key for r in rows])
    seconds = time.perf_counter() - start
    references, ids = [r.text for r in rows], [r.label for r in rows]
    log_probs = [log_probs for log_probs, _ in outputs]
    encoded = [encoded for _, encoded in outputs] if states else None
    return AcousticPass(log_probs, references, ids, sum(r.duration for r in rows), seconds, encoded)


def score(decoder: Decoder, data: AcousticPass, worst: int = 10) -> tuple[dict, list[str]]:
    """Error report of `decoder` on the pass's log-probabilities, with its decoding time alone."""
    start = time.perf_counter()
    states = data.states if data.states is not None else repeat(None)
    hyps = [decode_text(decoder, row, encoded) for row, encoded in zip(data.log_probs, states, strict=False)]
    seconds = time.perf_counter() - start
    report = error_report(data.references, hyps, data.ids, worst)
    report["decode_seconds"] = seconds
    report["decode_real_time_factor"] = seconds / data.audio_seconds
    if isinstance(decoder, BeamSearchDecoder):
        report["settings"] = vars(decoder.settings) | {
            "lexicon": decoder.lexicon is not None,
            "lm": decoder.lm is not None,
        }
        if decoder.lexicon is not None:
            report["lexicon_coverage"] = outside_vocabulary(data.references, hyps, decoder.lexicon)
    elif reads_states(decoder):
        report["settings"] = vars(decoder.settings)
    return report, hyps


def format_report(report: dict) -> str:
    lines = [
        f"{report['utterances']} utterances, {report['audio_seconds']:.1f} s of audio; acoustic model "
        f"{report['acoustic_seconds']:.2f} s; references {report['references']}"
    ]
    decoders = [name for name in ("greedy", "beam", "joint") if name in report]
    for name in decoders:
        r = report[name]
        speed = 1 / max(r["decode_real_time_factor"], 1e-9)
        lines.append(
            f"{name:6s} WER {100 * r['wer']:.2f}%  CER {100 * r['cer']:.2f}%  ({r['reference_words']} words: "
            f"{r['substitutions']} substitutions, {r['deletions']} deletions, {r['insertions']} insertions; "
            f"decoding {r['decode_seconds']:.2f} s, {speed:.0f}x real time)"
        )
    coverage = report.get("beam", {}).get("lexicon_coverage")
    if coverage and coverage["outside"]["utterances"]:
        out, inside = coverage["outside"], coverage["inside"]
        lines.append(
            f"beam: {out['errors']} word errors in the {out['utterances']} utterances with a word outside "
            f"the lexicon ({out['words']} words); {inside['errors']} in the other {inside['utterances']} "
            f"({inside['words']} words, WER {100 * inside['errors'] / max(inside['words'], 1):.2f}%)"
        )
    final = report[report["decoder"]]
    lines.append(f"worst utterances ({report['decoder']}):")
    by_id = {row["id"]: row for row in report["hypotheses"]}
    for row in final["worst"]:
        lines += [f"  {row['errors']} errors  {row['id']}", f"    REF: {row['reference']}"]
        lines += [f"    {name.upper():6s}: {by_id[row['id']][name]}" for name in decoders]
    lines.append(" | ".join(f"{name} WER {100 * report[name]['wer']:.2f}%" for name in decoders))
    return "\n".join(lines)


def write_report(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    return path

"""Scoring a checkpoint on a manifest: the work behind `scripts/decode.py`."""

from __future__ import annotations

import json
from pathlib import Path

from asr.data.manifest import read_manifest
from asr.inference import Transcriber
from asr.metrics import error_report


def evaluate(
    ckpt: str | Path,
    manifest: str | Path,
    device: str = "auto",
    batch_seconds: float = 120.0,
    worst: int = 10,
    on_error: str = "raise",
) -> dict:
    """WER/CER report of checkpoint `ckpt` on every usable row of `manifest`."""
    transcriber = Transcriber.from_checkpoint(ckpt, device=device, batch_seconds=batch_seconds)
    rows = read_manifest(manifest, transcriber.module.tokenizer, on_error=on_error)
    hypotheses = transcriber.transcribe_files([r.audio_filepath for r in rows])
    report = error_report([r.text for r in rows], hypotheses, [str(r.audio_filepath) for r in rows], worst)
    return {"checkpoint": str(ckpt), "manifest": str(manifest), **report}


def format_report(report: dict) -> str:
    lines = [
        f"WER {100 * report['wer']:.2f}%  CER {100 * report['cer']:.2f}%  "
        f"({report['utterances']} utterances, {report['reference_words']} words: "
        f"{report['substitutions']} substitutions, {report['deletions']} deletions, "
        f"{report['insertions']} insertions)",
    ]
    for row in report["worst"]:
        lines += [
            f"  {row['errors']} errors  {row['id']}",
            f"    REF: {row['reference']}",
            f"    HYP: {row['hypothesis']}",
        ]
    return "\n".join(lines)


def write_report(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    return path

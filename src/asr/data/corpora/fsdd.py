"""Free Spoken Digit Dataset: a clone's recordings to manifests with the official split.

Recordings are `{digit}_{speaker}_{index}.wav` at 8 kHz; the published split puts takes 0-4 in
the test set and 5-49 in training. Validation takes the first `val_takes` training takes, so the
test set stays the official one. With `holdout_speaker`, one speaker's every take is the test
set and the others train: the honest measure of generalisation to a new voice.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile as sf

from asr.data.manifest import Utterance, write_manifest

log = logging.getLogger(__name__)

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
TEST_TAKES = 5


def _split(speaker: str, take: int, val_takes: int, holdout_speaker: str | None) -> str:
    if holdout_speaker is not None:
        if speaker == holdout_speaker:
            return "test"
        return "val" if TEST_TAKES <= take < TEST_TAKES + val_takes else "train"
    if take < TEST_TAKES:
        return "test"
    return "val" if take < TEST_TAKES + val_takes else "train"


def import_fsdd(
    source: str | Path,
    out: str | Path,
    val_takes: int = 2,
    holdout_speaker: str | None = None,
    workers: int = 8,
) -> dict[str, Path]:
    """Write `{train,val,test}.jsonl` for the recordings under `source` (a clone or its recordings/)."""
    source = Path(source)
    recordings = source / "recordings" if (source / "recordings").is_dir() else source
    files = sorted(recordings.glob("*.wav"))
    if not files:
        raise FileNotFoundError(
            f"no FSDD recordings ({{digit}}_{{speaker}}_{{index}}.wav) in {recordings}: clone "
            "the Free Spoken Digit Dataset and pass its path as data.root"
        )
    matched = [(path, NAME.match(path.name)) for path in files]
    skipped = [path.name for path, m in matched if m is None]
    if skipped:
        log.warning("skipped %d files not named {digit}_{speaker}_{index}.wav: %s", len(skipped), skipped[:5])
    matched = [(path, m) for path, m in matched if m is not None]
    speakers = {m.group(2) for _, m in matched}
    if holdout_speaker is not None and holdout_speaker not in speakers:
        raise ValueError(f"holdout_speaker {holdout_speaker!r} is not one of {sorted(speakers)}")
    with ThreadPoolExecutor(workers) as pool:  # header reads, not decoding
        durations = list(pool.map(lambda item: sf.info(str(item[0])).duration, matched))
    rows: dict[str, list[Utterance]] = {"train": [], "val": [], "test": []}
    for (path, m), duration in zip(matched, durations, strict=True):
        split = _split(m.group(2), int(m.group(3)), val_takes, holdout_speaker)
        rows[split].append(Utterance(path.resolve(), duration, DIGITS[int(m.group(1))], speaker=m.group(2)))
    out = Path(out)
    manifests = {split: out / f"{split}.jsonl" for split in rows}
    for split, path in manifests.items():
        write_manifest(path, rows[split])
    log.info("FSDD manifests in %s: %s", out, {split: len(r) for split, r in rows.items()})
    return manifests

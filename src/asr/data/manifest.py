"""JSON-lines manifests (NeMo convention): one utterance per line with `audio_filepath`,
`duration` in seconds and `text`, and optionally `offset`: the row is then the `duration` seconds
of the file from `offset` on, a segment of a longer recording; and `speaker`: who speaks, which
`features.normalize=speaker` pools statistics over (a row without one is its file's own
speaker). Other keys are ignored. Relative audio paths are resolved against the manifest's
folder, so a corpus folder can be moved as a whole.

Every problem with a row is found here, before training starts, and reported with the manifest
path and line number, so a bad file never surfaces as a crash deep inside an epoch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

from asr.atomic import atomic_path
from asr.choices import Choice
from asr.data.audio import SEGMENT_TOLERANCE, load_audio
from asr.text import CharTokenizer

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("audio_filepath", "duration", "text")
T = TypeVar("T")


class ManifestError(ValueError):
    """A manifest has rows that cannot be trained or scored on."""


class OnError(Choice):
    """The bad-input policy (`data.on_error`, `on_error`): RAISE stops with every problem listed
    and the fix; SKIP drops what is bad, each item logged and the total counted."""

    RAISE = "raise"
    SKIP = "skip"


@dataclass(frozen=True)
class Utterance:
    """A manifest row: a whole file, or (with `offset`) the `duration` seconds from `offset`."""

    audio_filepath: Path
    duration: float
    text: str
    offset: float | None = None
    speaker: str | None = None

    @property
    def speaker_key(self) -> str:
        """Whose statistics the row shares: its speaker, or without one its file."""
        return str(self.audio_filepath) if self.speaker is None else f"speaker:{self.speaker}"

    @property
    def label(self) -> str:
        """The file, and for a segment where in it: what messages and reports name."""
        if self.offset is None:
            return str(self.audio_filepath)
        return f"{self.audio_filepath} [{self.offset:g}-{self.offset + self.duration:g} s]"

    def load(self, sample_rate: int) -> np.ndarray:
        """The row's audio (only the segment's samples are read), float32 mono at `sample_rate`."""
        return load_audio(
            self.audio_filepath, sample_rate, self.offset, None if self.offset is None else self.duration
        )


def _check_row(row: object, base: Path, tokenizer: CharTokenizer, check_audio: bool) -> Utterance:
    """One parsed row to an Utterance, or ValueError saying what is wrong and how to fix it."""
    if not isinstance(row, dict) or any(k not in row for k in REQUIRED_KEYS):
        raise ValueError(f"a row needs the keys {list(REQUIRED_KEYS)}")
    path = Path(row["audio_filepath"])
    path = path if path.is_absolute() else base / path
    text = tokenizer.normalize(str(row["text"]))
    if not text:
        raise ValueError(f"empty transcript for {path}: remove the row or give it a transcript")
    if not path.is_file():
        raise ValueError(f"audio file {path} does not exist: fix the path or remove the row")
    duration = float(row["duration"])
    if not duration > 0:
        raise ValueError(f"duration {row['duration']!r} of {path} must be positive")
    offset = None if row.get("offset") is None else float(row["offset"])
    if offset is not None and not offset >= 0:
        raise ValueError(f"offset {row['offset']!r} of {path} must be zero or positive")
    speaker = row.get("speaker")
    if speaker is not None:  # NeMo's manifests number their speakers
        if isinstance(speaker, bool) or not isinstance(speaker, str | int) or speaker == "":
            raise ValueError(f"speaker {speaker!r} of {path} must be a name or a number")
        speaker = str(speaker)
    if check_audio:
        try:
            info = sf.info(str(path))
        except Exception as err:  # soundfile raises several types for unreadable files
            raise ValueError(f"audio file {path} cannot be read ({err}): re-encode or remove it") from err
        if info.frames == 0:
            raise ValueError(f"audio file {path} has no samples: remove the row")
        seconds = info.frames / info.samplerate
        if offset is not None and offset + duration > seconds + SEGMENT_TOLERANCE:
            raise ValueError(
                f"segment {offset:g} s + {duration:g} s runs past the end of {path} ({seconds:.2f} s): "
                "fix the row's offset or duration"
            )
    return Utterance(path, duration, text, offset, speaker)


def read_manifest(
    path: str | Path,
    tokenizer: CharTokenizer,
    on_error: OnError = OnError.RAISE,
    check_audio: bool = True,
) -> list[Utterance]:
    """Read and validate a manifest.

    RAISE fails with every bad row listed (file and line); SKIP drops bad rows and logs how many
    were dropped and why, so nothing is lost silently.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} does not exist: prepare the data first")
    utterances = parse_lines(
        path, lambda line: _check_row(json.loads(line), path.parent, tokenizer, check_audio), "rows", on_error
    )
    if not utterances:
        raise ManifestError(f"manifest {path} has no usable rows")
    return utterances


def parse_lines(path: Path, parse: Callable[[str], T], what: str, on_error: OnError) -> list[T]:
    """`parse` applied to every non-blank line of a text file; a line it rejects (ValueError, the
    message saying why) is bad input under `on_error`, reported as `path:line: message`."""
    parsed: list[T] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                parsed.append(parse(line))
            except ValueError as err:  # json.JSONDecodeError is a ValueError too
                problems.append(f"{path}:{number}: {err}")
    apply_error_policy(problems, len(problems) + len(parsed), f"{what} of {path}", on_error)
    return parsed


def apply_error_policy(problems: list[str], total: int, what: str, on_error: OnError, hint: str = "") -> None:
    """The one bad-input policy: raise a single error listing the problems, or (SKIP) log each of
    them and how many of `total` `what` were dropped."""
    if not problems:
        return
    if on_error is OnError.RAISE:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ManifestError(
            f"{len(problems)} of {total} {what} cannot be used ({hint}set data.on_error=skip to drop them):"
            f"\n  {shown}{more}"
        )
    for problem in problems:
        log.warning("skipped %s", problem)
    log.warning("skipped %d of %d %s", len(problems), total, what)


def write_manifest(path: str | Path, utterances: list[Utterance]) -> Path:
    """Write utterances with audio paths relative to the manifest's folder where possible, the file
    replaced whole (`atomic_path`): a run reading the manifest while another prepares the same
    split never sees it cut short. Returns the manifest's path, for callers that pass it on."""
    path = Path(path)
    folder = path.parent.resolve()
    with atomic_path(path) as partial, partial.open("w", encoding="utf-8") as f:
        for u in utterances:
            audio = Path(u.audio_filepath)
            if audio.is_relative_to(folder):
                audio = audio.relative_to(folder)
            row = {"audio_filepath": str(audio), "duration": round(u.duration, 4), "text": u.text}
            if u.offset is not None:
                row["offset"] = round(u.offset, 4)
            if u.speaker is not None:
                row["speaker"] = u.speaker
            f.write(json.dumps(row) + "\n")
    return path

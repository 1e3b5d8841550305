"""Transcripts written out: plain text, JSON lines, SRT and WebVTT subtitles.

Subtitle cues group consecutive words and break where a line would pass `CUE_CHARS` characters,
last longer than `CUE_SECONDS`, or span a pause of `CUE_GAP` seconds: the usual limits of
subtitle style guides, so cues stay readable and follow the speech.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from asr.alignment import Word
from asr.choices import Choice

CUE_CHARS = 42
CUE_SECONDS = 6.0
CUE_GAP = 1.0


class OutputFormat(Choice):
    TEXT = "text"
    JSONL = "jsonl"
    SRT = "srt"
    VTT = "vtt"

    @property
    def suffix(self) -> str:
        return {"text": ".txt", "jsonl": ".jsonl", "srt": ".srt", "vtt": ".vtt"}[self.value]


def cues(words: Sequence[Word]) -> list[list[Word]]:
    """Consecutive words grouped into subtitle cues."""
    out: list[list[Word]] = []
    for word in words:
        if out:
            cue = out[-1]
            line = len(" ".join(w.text for w in cue)) + 1 + len(word.text)
            if (
                line <= CUE_CHARS
                and word.end - cue[0].start <= CUE_SECONDS
                and word.start - cue[-1].end < CUE_GAP
            ):
                cue.append(word)
                continue
        out.append([word])
    return out


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(words: Sequence[Word]) -> str:
    blocks = [
        f"{n}\n{_clock(c[0].start, ',')} --> {_clock(c[-1].end, ',')}\n{' '.join(w.text for w in c)}\n"
        for n, c in enumerate(cues(words), 1)
    ]
    return "\n".join(blocks)


def vtt(words: Sequence[Word]) -> str:
    blocks = [
        f"{_clock(c[0].start, '.')} --> {_clock(c[-1].end, '.')}\n{' '.join(w.text for w in c)}\n"
        for c in cues(words)
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def jsonl(record: dict, words: Sequence[Word]) -> str:
    """One JSON line: `record`'s fields, then the words with their times and confidence."""
    timed = [{"word": w.text, "start": w.start, "end": w.end, "confidence": w.confidence} for w in words]
    return json.dumps({**record, "words": timed})


def render(fmt: OutputFormat, text: str, words: Sequence[Word], record: dict) -> str:
    """A transcript in `fmt`; `record` (path, duration, speed) is what JSON lines carry beside the words."""
    if fmt is OutputFormat.TEXT:
        return text
    if fmt is OutputFormat.JSONL:
        return jsonl({**record, "text": text}, words)
    return srt(words) if fmt is OutputFormat.SRT else vtt(words)

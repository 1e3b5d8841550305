"""Voice-activity segmentation: a recording of any length as speech segments cut at pauses.

A recogniser trained on utterances of a few seconds falls apart on a whole recording (the
recurrent state drifts, memory grows with the file), so long audio is read from disk in blocks
and split where the speaker pauses, never in a word, with a maximum segment length; each segment
then looks like a training utterance. Memory is bounded by the longest segment, not the file.

The detector is frame energy against two references: the loudest frame heard so far in the file
and the noise floor, a running minimum of frame energy that rises `floor_rise_db` per second
between dips. A frame is a pause when it is more than `threshold_db` below the loudest, within
`noise_margin_db` of the floor, or below `floor_db` absolute. In clean audio the floor sits far
below speech and the loudest frame decides; in steady noise the floor decides. A pause of
`min_silence` seconds ends a segment; a segment reaching `max_seconds` is cut at its quietest frame
in its second half. `benchmarks/long_audio.py` measures what this costs in WER against transcribing
utterances one by one, `benchmarks/vad_compare.py` compares it with Silero VAD, clean and in noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.data.audio import AUDIO_SUFFIXES, AudioError

FRAME_SECONDS = 0.01


@dataclass(frozen=True)
class SegmentConfig:
    """How recordings are cut; the defaults suit speech at conversational pace."""

    max_seconds: float = 20.0
    min_silence: float = 0.3
    pad: float = 0.2
    threshold_db: float = 40.0
    noise_margin_db: float = 10.0
    floor_rise_db: float = 1.0
    floor_db: float = -70.0
    block_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.pad <= self.min_silence:
            raise ValueError(f"segment pad {self.pad} must lie between 0 and min_silence {self.min_silence}")
        if self.max_seconds < 4 * self.min_silence:
            raise ValueError(f"segment max_seconds {self.max_seconds} must be at least 4 x min_silence")


@dataclass(frozen=True)
class Segment:
    """Mono samples at the file's own rate, starting `start` seconds into the file."""

    start: float
    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def file_duration(path: str | Path) -> float:
    """Seconds of audio in `path`, read from its header; AudioError if it cannot be opened or is empty."""
    if Path(path).is_dir():
        raise AudioError(f"folder {path} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    if not Path(path).is_file():
        raise AudioError(f"audio file {path} does not exist: fix the path")
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises LibsndfileError, RuntimeError or TypeError
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    if info.frames == 0:
        raise AudioError(f"audio file {path} has no samples")
    return info.frames / info.samplerate


def _blocks(path: Path, block_seconds: float) -> Iterator[tuple[np.ndarray, int]]:
    """Mono float32 blocks of the file and its sample rate; AudioError naming the file on any fault."""
    try:
        handle = sf.SoundFile(str(path))
    except Exception as err:
        raise AudioError(f"cannot read audio file {path}: {err}") from err
    with handle:
        rate, read = handle.samplerate, 0
        size = max(1, int(block_seconds * rate))
        while True:
            try:
                block = handle.read(size, dtype="float32", always_2d=True)
            except Exception as err:
                raise AudioError(f"cannot read audio file {path} after {read / rate:.2f} s: {err}") from err
            if not len(block):
                return
            mono = block.mean(axis=1)
            if not np.isfinite(mono).all():
                where = (read + int(np.argmin(np.isfinite(mono)))) / rate
                raise AudioError(
                    f"audio file {path} decodes to non-finite samples (NaN or inf) at {where:.2f} s: "
                    "re-encode it from its source"
                )
            read += len(mono)
            yield mono, rate


class _Cutter:
    """The frame-level state machine over one file; samples kept only from the open segment on."""

    def __init__(self, cfg: SegmentConfig, rate: int) -> None:
        self.cfg, self.rate = cfg, rate
        self.hop = max(1, round(rate * FRAME_SECONDS))
        self.pad = round(cfg.pad / FRAME_SECONDS)
        self.silence = round(cfg.min_silence / FRAME_SECONDS)
        self.longest = round(cfg.max_seconds / FRAME_SECONDS)
        self.samples = np.empty(0, dtype=np.float32)
        self.energies: list[float] = []
        self.first = 0  # absolute frame index of samples[0] and energies[0]
        self.start: int | None = None  # first frame of the open segment
        self.voiced = -1  # last voiced frame
        self.peak = -np.inf
        self.noise = np.inf  # running noise floor, dB
        self.rise = cfg.floor_rise_db * FRAME_SECONDS

    def feed(self, mono: np.ndarray) -> Iterator[Segment]:
        done = len(self.energies)
        self.samples = np.concatenate([self.samples, mono])
        frames = len(self.samples) // self.hop
        if frames > done:
            chunk = self.samples[done * self.hop : frames * self.hop].reshape(-1, self.hop)
            self.energies += (10 * np.log10(np.mean(chunk.astype(np.float64) ** 2, axis=1) + 1e-12)).tolist()
        for frame in range(self.first + done, self.first + frames):  # absolute: _step moves `first`
            yield from self._step(frame)

    def _step(self, frame: int) -> Iterator[Segment]:
        energy = self.energies[frame - self.first]
        self.noise = min(self.noise + self.rise, energy)
        threshold = max(
            self.peak - self.cfg.threshold_db, self.noise + self.cfg.noise_margin_db, self.cfg.floor_db
        )
        voiced = energy > threshold
        self.peak = max(self.peak, energy)
        if voiced:
            if self.start is None:
                self.start = max(frame - self.pad, self.first)
            self.voiced = frame
        if self.start is None:
            self._forget(frame + 1 - self.pad)
        elif not voiced and frame - self.voiced >= self.silence:
            yield self._cut(self.voiced + 1 + self.pad)
            self.start = None
            self._forget(frame + 1 - self.pad)
        elif frame + 1 - self.start >= self.longest:
            half = self.start + self.longest // 2
            quiet = half + int(np.argmin(self.energies[half - self.first : frame + 1 - self.first]))
            yield self._cut(quiet + 1)
            self.start = quiet + 1

    def finish(self) -> Iterator[Segment]:
        """The open segment at the end of the file, with whatever samples trail the last whole frame."""
        if self.start is not None:
            end = self.voiced + 1 + self.pad
            total = self.first * self.hop + len(self.samples)
            last_frame = end >= self.first + len(self.energies)
            yield self._segment(self.start, total if last_frame else end * self.hop)

    def _cut(self, end: int) -> Segment:
        segment = self._segment(self.start, end * self.hop)
        self._forget(end)
        return segment

    def _segment(self, start: int, end_sample: int) -> Segment:
        offset = self.first * self.hop
        samples = self.samples[start * self.hop - offset : end_sample - offset].copy()
        return Segment(start * self.hop / self.rate, samples, self.rate)

    def _forget(self, frame: int) -> None:
        """Drop samples and energies before `frame` (never those of the open segment)."""
        if self.start is not None:
            frame = min(frame, self.start)
        drop = frame - self.first
        if drop > 0:
            self.samples = self.samples[drop * self.hop :]
            del self.energies[:drop]
            self.first = frame


def speech_segments(path: str | Path, cfg: SegmentConfig) -> Iterator[Segment]:
    """The speech of `path` as segments, in order, read block by block; AudioError names the file."""
    cutter: _Cutter | None = None
    for mono, rate in _blocks(Path(path), cfg.block_seconds):
        cutter = cutter or _Cutter(cfg, rate)
        yield from cutter.feed(mono)
    if cutter is not None:
        yield from cutter.finish()

"""Transcriber: a checkpoint and recordings of any length in, text and timed words out.

Each file is read in blocks and cut into speech segments (`segment`); segments of consecutive
files are pooled and run through the recogniser in batches of similar duration (with
`features.normalize=speaker` each file is one speaker, its mean frame pooled over all its
segments); each segment is decoded (greedy, beam + LM, or joint CTC/attention) and its words
timed from the CTC alignment, in seconds of the file. Results come out in input order, each file
as soon as it and the files before it are done. A file that cannot be read becomes a `Failure`
naming it and the reason; the others go on.

Nothing here imports Lightning or Hydra, nor torch unless the torch backend is chosen: this is
the path a user's one-file command pays for.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asr.alignment import Word, word_timings
from asr.backends import Backend, Checkpoints, Runner, checkpoint_paths, load_acoustic_model
from asr.data.audio import AUDIO_SUFFIXES, AudioError, to_mono_resampled
from asr.data.batching import duration_batches
from asr.decoder_config import Decoder, DecoderConfig, build_decoder, decode_text, reads_states
from asr.decoding import GreedyDecoder
from asr.ensemble import check_decoder
from asr.segment import SegmentConfig, file_duration, speech_segments

MANIFEST_SUFFIXES = (".jsonl", ".json")


def expand_audio_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; folders as the audio files inside them (recursively, sorted); glob patterns
    as their sorted matches; JSON-lines manifests as their `audio_filepath`s (relative to the
    manifest's folder; a file that several rows cut into segments, once: transcription finds its
    own segments). A path that matches nothing, or a folder without audio, stays in the list, to
    be reported."""
    out: list[Path] = []
    for given in map(str, paths):
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES) or [path]
        elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            out += _manifest_paths(path)
        elif not path.exists() and glob.has_magic(given):
            out += sorted(Path(p) for p in glob.glob(given, recursive=True)) or [path]
        else:
            out.append(path)
    return out


def _manifest_paths(manifest: Path) -> list[Path]:
    out = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            path = Path(json.loads(line)["audio_filepath"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{manifest}:{number}: not a manifest row with audio_filepath ({err})") from err
        out.append(path if path.is_absolute() else manifest.parent / path)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Transcript:
    """One file's transcript, its words timed in seconds of the file, and what it cost."""

    path: Path
    text: str
    words: list[Word]
    duration: float
    seconds: float

    def record(self) -> dict:
        """What JSON lines carry beside text and words."""
        return {
            "audio_filepath": str(self.path),
            "duration": round(self.duration, 3),
            "real_time_factor": round(self.seconds / max(self.duration, 1e-9), 5),
        }


@dataclass(frozen=True)
class Failure:
    """A file that could not be transcribed, and why."""

    path: Path
    reason: str


@dataclass
class _Job:
    """One file on its way through: its segments' offsets, and their words as they are decoded."""

    path: Path
    started: float = field(default_factory=time.perf_counter)
    duration: float = 0.0
    offsets: list[float] = field(default_factory=list)
    words: dict[int, list[Word]] = field(default_factory=dict)
    read: bool = False
    failure: str | None = None

    @property
    def done(self) -> bool:
        return self.failure is not None or (self.read and len(self.words) == len(self.offsets))

    def result(self) -> Transcript | Failure:
        if self.failure is not None:
            return Failure(self.path, self.failure)
        words = [w for k in range(len(self.offsets)) for w in self.words[k]]
        text = " ".join(w.text for w in words)
        return Transcript(self.path, text, words, self.duration, time.perf_counter() - self.started)


class Transcriber:
    """CTC transcription with a trained recogniser (greedy decoding unless given a decoder)."""

    def __init__(
        self,
        runner: Runner,
        decoder: Decoder | None = None,
        batch_seconds: float = 120.0,
        segments: SegmentConfig | None = None,
    ) -> None:
        self.runner = runner
        self.tokenizer = runner.tokenizer
        self.decoder = decoder or GreedyDecoder(self.tokenizer)
        self.batch_seconds = batch_seconds
        self.segments = segments or SegmentConfig()

    @classmethod
    def from_checkpoint(
        cls,
        path: Checkpoints,
        decoder: DecoderConfig | None = None,
        device: str = "auto",
        batch_seconds: float = 120.0,
        segments: SegmentConfig | None = None,
        backend: Backend = Backend.TORCH,
    ) -> Transcriber:
        """Everything needed (vocabulary, features, model shape) is read from the checkpoint (or,
        with `Backend.ONNX`, the exported file); the decoder's lexicon, LM and tuned weights from
        beside it. Several checkpoints are decoded as one ensemble (`asr.ensemble`), with the
        lexicon, LM and weights from beside the first."""
        paths = checkpoint_paths(path)
        check_decoder(len(paths), decoder and decoder.name)
        runner = load_acoustic_model(paths, backend, device)
        built = (
            build_decoder(decoder, paths[0], runner.tokenizer, attention=runner.attention)
            if decoder
            else None
        )
        return cls(runner, built, batch_seconds, segments)

    @property
    def sample_rate(self) -> int:
        return self.runner.sample_rate

    def log_probs(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """1-D float32 waveforms at `sample_rate` to (T', vocab) CTC log-probabilities, in input order."""
        return [log_probs for log_probs, _ in self.outputs(waves, states=False)]

    def speaker_means(self, waves: Sequence[np.ndarray], speakers: Sequence[str]) -> list[np.ndarray] | None:
        """Each waveform's speaker's mean frame, pooled over all of that speaker's `waves`, for a
        recogniser with `features.normalize=speaker`; None for any other."""
        if not self.runner.per_speaker:
            return None
        groups: dict[str, list[int]] = {}
        for index, speaker in enumerate(speakers):
            groups.setdefault(speaker, []).append(index)
        means: list[np.ndarray] = [np.empty(0)] * len(waves)
        for indices in groups.values():
            mean = self.runner.speaker_mean([waves[i] for i in indices])
            for i in indices:
                means[i] = mean
        return means

    def outputs(
        self,
        waves: Sequence[np.ndarray],
        states: bool,
        speakers: Sequence[str] | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Each waveform's CTC log-probabilities and, with `states`, its encoder states (T', D) for
        an attention decoder (the torch backend's `encode`), in input order. `speakers` names each
        waveform's speaker for a `features.normalize=speaker` recogniser (default: each its own)."""
        means = self.speaker_means(waves, speakers or [str(i) for i in range(len(waves))])
        out: list[tuple[np.ndarray, np.ndarray | None]] = [(np.empty(0), None)] * len(waves)
        for batch in duration_batches([len(w) / self.sample_rate for w in waves], self.batch_seconds):
            lengths = np.array([len(waves[i]) for i in batch], dtype=np.int64)
            padded = np.zeros((len(batch), lengths.max()), dtype=np.float32)
            for row, i in enumerate(batch):
                padded[row, : lengths[row]] = waves[i]
            rows = None if means is None else np.stack([means[i] for i in batch])
            if states:
                log_probs, frames, encoded = self.runner.encode(padded, lengths, rows)
            else:
                (log_probs, frames), encoded = self.runner(padded, lengths, rows), None
            for row, (index, n) in enumerate(zip(batch, frames.tolist(), strict=True)):
                out[index] = (log_probs[row, :n], None if encoded is None else encoded[row, :n])
        return out

    def transcribe_waves(self, waves: Sequence[np.ndarray]) -> list[str]:
        """1-D float waveforms at `sample_rate` (utterances, not recordings) to text, in input order."""
        return [decode_text(self.decoder, *out) for out in self.outputs(waves, reads_states(self.decoder))]

    def transcribe(self, paths: Sequence[str | Path]) -> Iterator[Transcript | Failure]:
        """Every file of `paths` (see `expand_audio_paths`), in order, each as soon as it is done."""
        return self.transcribe_files(expand_audio_paths(paths))

    def transcribe_files(self, files: Sequence[Path]) -> Iterator[Transcript | Failure]:
        """`transcribe` of paths already expanded to files."""
        jobs: list[_Job] = []
        pending: list[tuple[_Job, int, np.ndarray]] = []
        pending_samples, emitted = 0, 0
        limit = self.batch_seconds * self.sample_rate
        for path in files:
            job = _Job(path)
            jobs.append(job)
            try:
                job.duration = file_duration(path)
                for segment in speech_segments(path, self.segments):
                    job.offsets.append(segment.start)
                    wave = to_mono_resampled(segment.samples, segment.sample_rate, self.sample_rate)
                    pending.append((job, len(job.offsets) - 1, wave))
                    pending_samples += len(wave)
                    if not self.runner.per_speaker and pending_samples >= limit:
                        self._decode(pending)
                        pending, pending_samples = [], 0
            except AudioError as err:
                job.failure = str(err)
            job.read = True
            if pending_samples >= limit:  # a file's speaker mean needs all of its segments at once
                self._decode(pending)
                pending, pending_samples = [], 0
            while emitted < len(jobs) and jobs[emitted].done:
                yield jobs[emitted].result()
                emitted += 1
        self._decode(pending)
        for job in jobs[emitted:]:
            yield job.result()

    def _decode(self, pending: list[tuple[_Job, int, np.ndarray]]) -> None:
        """Log-probabilities for every pending segment of a file still alive, then text and timed words."""
        live = [(job, k, wave) for job, k, wave in pending if job.failure is None]
        rows = self.outputs(
            [wave for _, _, wave in live], reads_states(self.decoder), [str(job.path) for job, _, _ in live]
        )
        for (job, k, _), (row, states) in zip(live, rows, strict=True):
            text = decode_text(self.decoder, row, states)
            job.words[k] = word_timings(
                row, text, self.tokenizer, self.runner.frames_per_second, job.offsets[k]
            )

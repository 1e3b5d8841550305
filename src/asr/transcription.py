"""The transcribe command's work: transcripts printed (and written) as files finish, failures
named on stderr and counted, a progress bar for long jobs; what `scripts/transcribe.py` calls."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from asr.backends import Backend
from asr.decoder_config import DecoderConfig
from asr.formats import OutputFormat, render
from asr.inference import Failure, Transcriber, expand_audio_paths
from asr.segment import SegmentConfig

PROGRESS_DELAY = 3.0  # seconds before the bar appears: a quick job prints nothing but transcripts


class Progress:
    """Files done, as a bar on stderr that appears once the job has run `PROGRESS_DELAY` seconds;
    lines written through it are flushed at once and never tangled with the bar."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.start = time.monotonic()
        self.bar: tqdm | None = None

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update()
        elif time.monotonic() - self.start > PROGRESS_DELAY and self.done < self.total:
            self.bar = tqdm(
                total=self.total, initial=self.done, unit="file", file=sys.stderr, dynamic_ncols=True
            )

    def write(self, line: str, file: TextIO) -> None:
        if self.bar is not None:
            tqdm.write(line, file=file)
            file.flush()
        else:
            print(line, file=file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def output_path(folder: Path, audio: Path, fmt: OutputFormat, taken: set[Path]) -> Path:
    """`folder/<audio stem><suffix>`, numbered where two inputs share a stem."""
    path, n = folder / f"{audio.stem}{fmt.suffix}", 1
    while path in taken:
        n += 1
        path = folder / f"{audio.stem}-{n}{fmt.suffix}"
    taken.add(path)
    return path


def transcribe_command(
    transcriber: Transcriber,
    audio: Sequence[str | Path],
    fmt: OutputFormat = OutputFormat.TEXT,
    output_dir: str | Path | None = None,
) -> int:
    """Print each file's transcript in `fmt` as it finishes (and write it under `output_dir`); name
    every file that failed on stderr. Returns the number of failures (the command's exit status
    is non-zero when there are any)."""
    paths = expand_audio_paths(audio)
    folder = Path(output_dir) if output_dir else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    taken: set[Path] = set()
    failures = 0
    progress = Progress(len(paths))
    for result in transcriber.transcribe_files(paths):
        progress.update()
        if isinstance(result, Failure):
            failures += 1
            progress.write(f"skipped {result.path}: {result.reason}", sys.stderr)
            continue
        out = render(fmt, result.text, result.words, result.record())
        progress.write(out, sys.stdout)
        if folder:
            output_path(folder, result.path, fmt, taken).write_text(out + "\n", encoding="utf-8")
    progress.close()
    done = len(paths) - failures
    summary = f"transcribed {done} of {len(paths)} files" + (
        f"; {failures} failed (named above)" if failures else ""
    )
    print(summary, file=sys.stderr)
    return failures


def transcribe_files(
    ckpt: str | Path,
    audio: Sequence[str | Path],
    fmt: str = "text",
    decoder: DecoderConfig | None = None,
    device: str = "auto",
    batch_seconds: float = 120.0,
    output_dir: str | Path | None = None,
    segments: SegmentConfig | None = None,
    backend: str = "torch",
) -> int:
    """`transcribe_command` with a transcriber loaded from `ckpt` (with backend onnx, an exported
    file); options checked before any work."""
    output = OutputFormat.parse(fmt, "format")
    runtime = Backend.parse(backend, "backend")
    transcriber = Transcriber.from_checkpoint(ckpt, decoder, device, batch_seconds, segments, runtime)
    return transcribe_command(transcriber, audio, output, output_dir)

"""Transcriber: a checkpoint and audio in, text out; what decoding and transcription share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from asr.data.audio import load_audio
from asr.data.sampler import duration_batches
from asr.decoder_config import Decoder, DecoderConfig, build_decoder
from asr.decoding import GreedyDecoder
from asr.module import SpeechRecognizer

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def expand_audio_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders as the audio files inside them (recursively, sorted)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {path}")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"audio path {path} does not exist")
    return out


class Transcriber:
    """CTC transcription with a trained recogniser: log-probabilities in batches of similar length,
    then the decoder (greedy unless given one)."""

    def __init__(
        self,
        module: SpeechRecognizer,
        decoder: Decoder | None = None,
        device: str = "auto",
        batch_seconds: float = 120.0,
    ) -> None:
        self.device = pick_device(device)
        self.module = module.to(self.device).eval()
        self.decoder = decoder or GreedyDecoder(module.tokenizer)
        self.batch_seconds = batch_seconds

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        decoder: DecoderConfig | None = None,
        device: str = "auto",
        batch_seconds: float = 120.0,
    ) -> Transcriber:
        """Everything needed (vocabulary, features, model shape) is read from the checkpoint; the
        decoder's lexicon, LM and tuned weights from beside it."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"checkpoint {path} does not exist: train first or fix the path")
        module = SpeechRecognizer.load_from_checkpoint(path, map_location="cpu")
        built = build_decoder(decoder, path, module.tokenizer) if decoder else None
        return cls(module, built, device=device, batch_seconds=batch_seconds)

    @property
    def sample_rate(self) -> int:
        return self.module.features.sample_rate

    @torch.inference_mode()
    def log_probs(self, waves: Sequence[torch.Tensor]) -> list[np.ndarray]:
        """1-D float waveforms at `sample_rate` to (T', vocab) CTC log-probabilities, in input order."""
        out: list[np.ndarray] = [np.empty(0)] * len(waves)
        for batch in duration_batches([len(w) / self.sample_rate for w in waves], self.batch_seconds):
            lengths = torch.tensor([len(waves[i]) for i in batch], device=self.device)
            padded = torch.nn.utils.rnn.pad_sequence([waves[i] for i in batch], batch_first=True).to(
                self.device
            )
            log_probs, frames = self.module(padded, lengths)
            log_probs = log_probs.cpu().numpy()
            for index, row, n in zip(batch, log_probs, frames.tolist(), strict=True):
                out[index] = row[:n]
        return out

    def transcribe_waves(self, waves: Sequence[torch.Tensor]) -> list[str]:
        """1-D float waveforms at `sample_rate` to text, in input order."""
        return [self.decoder.decode(row) for row in self.log_probs(waves)]

    def transcribe_files(self, paths: Sequence[str | Path]) -> list[str]:
        return self.transcribe_waves([load_audio(p, self.sample_rate) for p in paths])


def transcription_lines(
    ckpt: str | Path,
    audio: Sequence[str | Path],
    output_format: str = "text",
    decoder: DecoderConfig | None = None,
    device: str = "auto",
    batch_seconds: float = 120.0,
) -> list[str]:
    """Printable transcripts of files and folders: plain text lines, or JSON lines with paths."""
    if output_format not in ("text", "jsonl"):
        raise ValueError(f"format must be 'text' or 'jsonl', not {output_format!r}")
    paths = expand_audio_paths(audio)
    transcriber = Transcriber.from_checkpoint(ckpt, decoder, device=device, batch_seconds=batch_seconds)
    texts = transcriber.transcribe_files(paths)
    if output_format == "text":
        return texts
    return [json.dumps({"audio_filepath": str(p), "text": t}) for p, t in zip(paths, texts, strict=True)]

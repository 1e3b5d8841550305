"""Transcribe audio: python scripts/transcribe.py ckpt=PATH audio=FILE|FOLDER|GLOB|MANIFEST|[a.wav,b.flac]
[format=text|jsonl|srt|vtt] [output_dir=DIR] [backend=torch|onnx (ckpt=the exported .onnx)].
Exits 1 when any file failed (each is named on stderr)."""

import sys

import hydra
from omegaconf import DictConfig, ListConfig

from asr.decoder_config import DecoderConfig
from asr.segment import SegmentConfig
from asr.transcription import transcribe_files


@hydra.main(version_base="1.3", config_path="../conf", config_name="transcribe")
def main(cfg: DictConfig) -> None:
    audio = list(cfg.audio) if isinstance(cfg.audio, ListConfig) else [cfg.audio]
    failures = transcribe_files(
        cfg.ckpt,
        audio,
        cfg.format,
        DecoderConfig.from_cfg(cfg.decoder),
        device=cfg.device,
        batch_seconds=cfg.batch_seconds,
        output_dir=cfg.output_dir,
        segments=SegmentConfig(**cfg.segment),
        backend=cfg.backend,
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

"""Transcribe audio: python scripts/transcribe.py ckpt=PATH audio=FILE|FOLDER|[a.wav,b.flac]."""

import hydra
from omegaconf import DictConfig, ListConfig

from asr.decoder_config import DecoderConfig
from asr.inference import transcription_lines


@hydra.main(version_base="1.3", config_path="../conf", config_name="transcribe")
def main(cfg: DictConfig) -> None:
    audio = list(cfg.audio) if isinstance(cfg.audio, ListConfig) else [cfg.audio]
    decoder = DecoderConfig.from_cfg(cfg.decoder)
    for line in transcription_lines(
        cfg.ckpt, audio, cfg.format, decoder, device=cfg.device, batch_seconds=cfg.batch_seconds
    ):
        print(line)


if __name__ == "__main__":
    main()

"""Score a checkpoint, greedy and beam side by side: python scripts/decode.py ckpt=PATH [manifest=PATH]."""

import hydra
from omegaconf import DictConfig

from asr.data.manifest import OnError
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate, format_report, write_report


@hydra.main(version_base="1.3", config_path="../conf", config_name="decode")
def main(cfg: DictConfig) -> None:
    report = evaluate(
        cfg.ckpt,
        cfg.manifest,
        DecoderConfig.from_cfg(cfg.decoder),
        device=cfg.device,
        batch_seconds=cfg.batch_seconds,
        worst=cfg.worst,
        on_error=OnError.parse(cfg.on_error, "on_error"),
        spoken_form=cfg.data.text.normalize,
    )
    print(f"report: {write_report(report, cfg.report)}")
    print(format_report(report))


if __name__ == "__main__":
    main()

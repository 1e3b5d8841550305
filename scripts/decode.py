"""Score a checkpoint, greedy and beam (or joint) side by side: python scripts/decode.py ckpt=PATH
[manifest=PATH] [decoder=greedy|beam|joint] [attention_plot=ID]."""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from asr.attention_plot import plot_attention, require_joint
from asr.data.manifest import OnError
from asr.decoder_config import DecoderConfig
from asr.evaluation import evaluate, format_report, write_report


@hydra.main(version_base="1.3", config_path="../conf", config_name="decode")
def main(cfg: DictConfig) -> None:
    decoder = DecoderConfig.from_cfg(cfg.decoder)
    if cfg.attention_plot is not None:
        require_joint(decoder)
    report = evaluate(
        cfg.ckpt,
        cfg.manifest,
        decoder,
        device=cfg.device,
        batch_seconds=cfg.batch_seconds,
        worst=cfg.worst,
        on_error=OnError.parse(cfg.on_error, "on_error"),
        spoken_form=cfg.data.text.normalize,
    )
    print(f"report: {write_report(report, cfg.report)}")
    print(format_report(report))
    if cfg.attention_plot is not None:
        out = Path(cfg.report).parent / "attention.png"
        plot_attention(cfg.ckpt, cfg.manifest, str(cfg.attention_plot), decoder, out, cfg.device)
        print(f"attention: {out}")


if __name__ == "__main__":
    main()

"""Tune the beam search's LM weight and word score on validation: python scripts/tune_decoder.py ckpt=PATH."""

import hydra
from omegaconf import DictConfig

from asr.data.manifest import OnError
from asr.decoder_config import DecoderConfig
from asr.tuning import tune_decoder


@hydra.main(version_base="1.3", config_path="../conf", config_name="tune_decoder")
def main(cfg: DictConfig) -> None:
    entry = tune_decoder(
        cfg.ckpt,
        cfg.manifest,
        DecoderConfig.from_cfg(cfg.decoder),
        cfg.table,
        device=cfg.device,
        batch_seconds=cfg.batch_seconds,
        on_error=OnError.parse(cfg.on_error, "on_error"),
    )
    if entry is None:
        raise SystemExit(f"nothing to tune: no lexicon or LM beside {cfg.ckpt} (give decoder.lm=PATH)")
    print(f"lm_weight {entry['lm_weight']}  word_score {entry['word_score']}  WER {100 * entry['wer']:.2f}%")
    print(f"table: {cfg.table}")


if __name__ == "__main__":
    main()

"""Estimate a word n-gram LM (ARPA): python scripts/build_lm.py text=MANIFEST|TEXT [out=PATH] [lm.order=N]."""

import hydra
from omegaconf import DictConfig

from asr.data.manifest import OnError
from asr.lm import build_lm
from asr.text import CharTokenizer


@hydra.main(version_base="1.3", config_path="../conf", config_name="build_lm")
def main(cfg: DictConfig) -> None:
    if "order" not in cfg.lm:
        raise SystemExit("lm=none builds nothing: choose lm=kneser_ney")
    build_lm(
        cfg.text,
        cfg.out,
        CharTokenizer(),
        cfg.lm.order,
        lexicon=cfg.lexicon,
        on_error=OnError.parse(cfg.on_error, "on_error"),
    )
    print(f"language model: {cfg.out}" + (f"\nlexicon: {cfg.lexicon}" if cfg.lexicon else ""))


if __name__ == "__main__":
    main()

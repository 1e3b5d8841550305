"""Average a run's last epochs: python scripts/average.py run=RUN_DIR [last=N] [out=PATH]."""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from asr.averaging import average_run


@hydra.main(version_base="1.3", config_path="../conf", config_name="average")
def main(cfg: DictConfig) -> None:
    out = average_run(Path(cfg.run) / "checkpoints", cfg.last, Path(cfg.out) if cfg.out else None)
    print(f"averaged: {out}")


if __name__ == "__main__":
    main()

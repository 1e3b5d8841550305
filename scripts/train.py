"""Train a recogniser: python scripts/train.py [data=...] [model.hidden_size=...] [trainer=gpu]."""

import hydra
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from asr.training import train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    best = train(cfg)
    if rank_zero_only.rank == 0:
        print(f"best checkpoint: {best}")


if __name__ == "__main__":
    main()

"""Train a recogniser: python scripts/train.py [data=...] [model.hidden_size=...] [trainer=gpu]."""

import hydra
from omegaconf import DictConfig

from asr.training import train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    print(f"best checkpoint: {train(cfg)}")


if __name__ == "__main__":
    main()

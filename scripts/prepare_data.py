"""Prepare a corpus's manifests ahead of training: python scripts/prepare_data.py [data=synthetic]."""

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from asr.data.corpora import prepare


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    if cfg.data.corpus is None:
        raise SystemExit("data config has no corpus recipe; its manifests are used as they are")
    params = OmegaConf.to_container(cfg.data.corpus, resolve=True)
    manifests = prepare(params.pop("name"), Path(cfg.data.root), Path(cfg.data.manifest_dir), **params)
    for split, path in manifests.items():
        print(f"{split}: {path}")


if __name__ == "__main__":
    main()

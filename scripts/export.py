"""Export a checkpoint: python scripts/export.py ckpt=PATH [format=onnx|torchscript] [out=PATH]."""

import hydra
from omegaconf import DictConfig

from asr.export import export_checkpoint


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
def main(cfg: DictConfig) -> None:
    print(f"exported: {export_checkpoint(cfg.ckpt, cfg.format, cfg.out)}")


if __name__ == "__main__":
    main()

"""The training config a benchmark runs: conf/train.yaml with this checkout as the project root,
one run folder, no progress bar, and the benchmark's overrides."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[1]


def train_config(output_dir: str | Path, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"paths.root={ROOT}",
                f"paths.output_dir={output_dir}",
                "+trainer.enable_progress_bar=false",
                *overrides,
            ],
        )

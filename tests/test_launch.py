"""Cluster launch without a cluster: the Hydra submitit launcher's local executor runs a training
job the way `hydra/launcher=slurm` would submit it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_resume import RUN

ROOT = Path(__file__).resolve().parents[1]


def test_submitit_local_launcher_runs_a_two_step_training(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "train.py"),
            "--multirun",
            "hydra/launcher=submitit_local",
            f"hydra.sweep.dir={sweep}",
            f"paths.root={tmp_path}",
            *RUN,
            "+trainer.max_steps=2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((sweep / "0" / "fit_summary.json").read_text())
    assert summary["steps"] == 2 and Path(summary["best_checkpoint"]).name == "last.ckpt"
    assert list((sweep / ".submitit").rglob("*_result.pkl")), "the job ran through submitit"


def test_slurm_launcher_config_composes_with_the_multinode_trainer() -> None:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            ["hydra/launcher=slurm", "trainer=multinode", "hydra.launcher.nodes=2"],
            return_hydra_config=True,
        )
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")
    assert cfg.hydra.launcher.nodes == 2 and cfg.hydra.launcher.max_num_timeout > 0
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.num_nodes == 2

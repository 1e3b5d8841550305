"""The learning curves of a run as one PNG beside its checkpoints: loss, error rates and learning
rate against training steps, read back from the CSV log, so a finished run can be judged at a
glance without starting TensorBoard."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node

import matplotlib.pyplot as plt

PANELS = (
    ("loss (per character; CTC, or joint CTC/attention)", ("train_loss", "val_loss")),
    ("validation error rate", ("val_wer", "val_cer")),
    ("learning rate", ("lr-AdamW",)),
)


def _series(rows: list[dict[str, str]], key: str) -> tuple[list[int], list[float]]:
    points = [(int(float(r["step"])), float(r[key])) for r in rows if r.get(key)]
    return [s for s, _ in points], [v for _, v in points]


def plot_learning_curves(metrics_csv: Path, out: Path) -> Path:
    """Write `out` (PNG) from a Lightning CSV log; a curve the log lacks is left out."""
    rows = list(csv.DictReader(metrics_csv.open(newline="")))
    figure, axes = plt.subplots(1, len(PANELS), figsize=(15, 4), constrained_layout=True)
    for ax, (title, keys) in zip(axes, PANELS, strict=True):
        for key in keys:
            steps, values = _series(rows, key)
            if steps:
                ax.plot(steps, values, marker="o" if key.startswith("val") else None, markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out

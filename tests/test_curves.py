"""The learning-curve PNG: drawn from whatever the CSV log holds."""

from pathlib import Path

import matplotlib.image

from asr.curves import plot_learning_curves


def test_curves_are_drawn_from_the_csv_log_and_missing_columns_are_left_out(tmp_path: Path) -> None:
    log = tmp_path / "metrics.csv"
    log.write_text(
        "epoch,lr-AdamW,step,train_loss,val_wer\n"
        ",0.002,0,,\n0,,0,5.0,\n0,,1,4.0,\n0,,1,,0.9\n,0.001,2,,\n1,,2,3.0,\n1,,3,,0.5\n"
    )
    out = plot_learning_curves(log, tmp_path / "curves.png")
    height, width, _ = matplotlib.image.imread(out).shape
    assert width > 2 * height

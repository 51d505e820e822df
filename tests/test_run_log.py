"""metrics.csv and curves.png: loss on a log scale, train and val accuracy, a learning-rate
panel, the run in the title, and every resume of the run's history."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from src.run_log import COLUMNS, curves_figure, draw_curves, read_metrics, write_metrics


def _rows(sessions=(1, 1, 1, 1)) -> list:
    return [{"epoch": e, "step": 3 * e, "lr": 0.1 / e, "train_loss": 2.0 / e,
             "train_top1": 0.15 * e, "val_loss": 900.0 if e == 1 else 1.0 / e,
             "val_top1": 0.2 * e, "val_top5": 0.9, "epoch_seconds": 1.0,
             "images_per_second": 10.0, "session": session}
            for e, session in zip(range(1, 5), sessions)]


def _resume_marks(axes) -> list:
    return [line.get_xdata()[0] for line in axes.lines if line.get_linestyle() == "--"]


def test_curves_show_loss_log_scale_train_accuracy_lr_title_and_every_resume(
        tmp_path: Path) -> None:
    # resumed twice: after epoch 1 (session 2) and after epoch 3 (session 3)
    figure = curves_figure(_rows((1, 2, 2, 3)), title="ghostnet_050 on digits at 32 px")
    loss, accuracy, lr = figure.axes
    assert loss.get_yscale() == "log"  # 900 at epoch 1 does not flatten 0.25..0.5
    assert lr.get_title() == "Learning rate" and list(lr.lines[0].get_ydata()) == \
        [0.1 / e for e in range(1, 5)]
    curves = {line.get_label(): list(line.get_ydata()) for line in accuracy.lines}
    assert curves["train top-1"] == [0.15 * e for e in range(1, 5)]
    assert curves["val top-1"] == [0.2 * e for e in range(1, 5)]
    assert figure.texts[0].get_text() == "ghostnet_050 on digits at 32 px"
    for axes in (loss, accuracy, lr):
        assert _resume_marks(axes) == [1, 3]
    assert _resume_marks(curves_figure(_rows()).axes[0]) == []
    draw_curves(tmp_path / "curves.png", _rows())
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_round_trip_and_an_older_file_without_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    write_metrics(path, _rows((1, 1, 2, 2)))
    # six significant digits are written
    assert read_metrics(path) == [pytest.approx(row, rel=1e-5) for row in _rows((1, 1, 2, 2))]
    old_columns = [c for c in COLUMNS if c not in ("train_top1", "session")]
    path.write_text(",".join(old_columns) + "\n" + ",".join(["1"] * len(old_columns)) + "\n")
    (row,) = read_metrics(path)
    assert row["session"] == 1 and math.isnan(row["train_top1"]) and row["val_top1"] == 1

"""curves.png: loss on a log scale, a learning-rate panel, the run in the title, resumes."""
from __future__ import annotations

from pathlib import Path

from src.run_log import curves_figure, draw_curves


def _rows() -> list:
    return [{"epoch": e, "step": 3 * e, "lr": 0.1 / e, "train_loss": 2.0 / e,
             "val_loss": 900.0 if e == 1 else 1.0 / e, "val_top1": 0.2 * e, "val_top5": 0.9,
             "epoch_seconds": 1.0, "images_per_second": 10.0} for e in range(1, 5)]


def test_curves_show_loss_log_scale_lr_title_and_resume(tmp_path: Path) -> None:
    figure = curves_figure(_rows(), title="ghostnet_050 on digits at 32 px", resumed_after=(2,))
    loss, accuracy, lr = figure.axes
    assert loss.get_yscale() == "log"  # 900 at epoch 1 does not flatten 0.25..0.5
    assert lr.get_title() == "Learning rate" and list(lr.lines[0].get_ydata()) == \
        [0.1 / e for e in range(1, 5)]
    assert figure.texts[0].get_text() == "ghostnet_050 on digits at 32 px"
    for axes in (loss, accuracy, lr):
        assert any(list(line.get_xdata()) == [2, 2] for line in axes.lines)  # resumed after 2
    draw_curves(tmp_path / "curves.png", _rows())
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

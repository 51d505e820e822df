"""The record a fine-tuning run keeps beside its checkpoints: ``metrics.csv`` and ``curves.png``.

``metrics.csv`` has one row per finished epoch (columns :data:`COLUMNS`). It is rewritten
whole and atomically after each epoch, so a reader never sees half a row, and a resumed run
drops rows of epochs it is about to redo. ``curves.png`` plots loss, accuracy and learning
rate against epoch, with the run in its title; it is drawn with matplotlib's Agg canvas, so
no display (and no global backend switch) is needed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Dict, List, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .atomic import atomic_path, write_text

METRICS_FILE = "metrics.csv"
CURVES_FILE = "curves.png"
COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "val_loss",
    "val_top1",
    "val_top5",
    "epoch_seconds",
    "images_per_second",
)

Row = Dict[str, float]


def read_metrics(path: Path) -> List[Row]:
    """The rows of a ``metrics.csv`` as floats (``epoch`` and ``step`` too); [] if absent."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def write_metrics(path: Path, rows: Sequence[Row]) -> None:
    """Write ``rows`` (each with every column of :data:`COLUMNS`) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _format(key, row[key]) for key in COLUMNS})
    write_text(path, buffer.getvalue())


def _format(key: str, value: float) -> str:
    return str(int(value)) if key in ("epoch", "step") else f"{value:.6g}"


def draw_curves(
    path: Path, rows: Sequence[Row], *, title: str = "", resumed_after: Sequence[float] = ()
) -> None:
    """Draw :func:`curves_figure` into ``path`` (PNG), atomically."""
    figure = curves_figure(rows, title=title, resumed_after=resumed_after)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=80)


def curves_figure(
    rows: Sequence[Row], *, title: str = "", resumed_after: Sequence[float] = ()
) -> Figure:
    """Loss, accuracy and learning rate against epoch.

    Loss is on a log scale, so that one huge first-epoch val loss does not flatten the rest;
    ``title`` names the run (architecture, data); a dashed line marks each epoch after which
    the run was resumed (``resumed_after``).
    """
    epochs = [row["epoch"] for row in rows]
    figure = Figure(figsize=(14, 4))
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes, lr_axes = figure.subplots(1, 3)
    loss_axes.plot(epochs, [row["train_loss"] for row in rows], marker="o", label="train")
    loss_axes.plot(epochs, [row["val_loss"] for row in rows], marker="o", label="val")
    loss_axes.set(xlabel="epoch", ylabel="loss (log scale)", title="Loss")
    if all(row["train_loss"] > 0 and row["val_loss"] > 0 for row in rows):
        loss_axes.set_yscale("log")
    accuracy_axes.plot(epochs, [row["val_top1"] for row in rows], marker="o", label="val top-1")
    accuracy_axes.plot(epochs, [row["val_top5"] for row in rows], marker="o", label="val top-5")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0.0, 1.02))
    lr_axes.plot(epochs, [row["lr"] for row in rows], marker="o", label="lr at epoch end")
    lr_axes.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
    for axes in (loss_axes, accuracy_axes, lr_axes):
        for epoch in resumed_after:
            axes.axvline(
                epoch,
                color="grey",
                linestyle="--",
                linewidth=1,
                label="resumed" if axes is lr_axes and epoch == resumed_after[0] else None,
            )
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure

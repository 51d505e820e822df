"""The record a fine-tuning run keeps beside its checkpoints: ``metrics.csv`` and ``curves.png``.

``metrics.csv`` has one row per finished epoch (columns :data:`COLUMNS`). It is rewritten
whole and atomically after each epoch, so a reader never sees half a row, and a resumed run
drops rows of epochs it is about to redo. Each row records the ``session`` that trained it
(1 for the first, one more per ``--resume``), so every resume of a run's history is known
from the file alone. ``curves.png`` plots loss, accuracy (train and val) and learning rate
against epoch, with the run in its title and a mark after each epoch a session resumed
from; it is drawn with matplotlib's Agg canvas, so no display (and no global backend
switch) is needed.
"""

from __future__ import annotations

import csv
import io
import math
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
    "train_top1",
    "val_loss",
    "val_top1",
    "val_top5",
    "epoch_seconds",
    "images_per_second",
    "session",
)
MISSING_COLUMNS: Dict[str, float] = {"train_top1": math.nan, "session": 1.0}
"""What a row of a ``metrics.csv`` written before these columns existed reads as."""

Row = Dict[str, float]


def read_metrics(path: Path) -> List[Row]:
    """The rows of a ``metrics.csv`` as floats (``epoch`` and ``step`` too); [] if absent."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return [
            {**MISSING_COLUMNS, **{key: float(value) for key, value in row.items()}}
            for row in csv.DictReader(file)
        ]


def write_metrics(path: Path, rows: Sequence[Row]) -> None:
    """Write ``rows`` (each with every column of :data:`COLUMNS`) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _format(key, row[key]) for key in COLUMNS})
    write_text(path, buffer.getvalue())


def _format(key: str, value: float) -> str:
    return str(int(value)) if key in ("epoch", "step", "session") else f"{value:.6g}"


def resumed_after(rows: Sequence[Row]) -> List[float]:
    """The epochs after which a new session took the run over (a ``--resume``)."""
    return [
        before["epoch"]
        for before, after in zip(rows, rows[1:])
        if after["session"] != before["session"]
    ]


def draw_curves(path: Path, rows: Sequence[Row], *, title: str = "") -> None:
    """Draw :func:`curves_figure` into ``path`` (PNG), atomically."""
    figure = curves_figure(rows, title=title)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=80)


def curves_figure(rows: Sequence[Row], *, title: str = "") -> Figure:
    """Loss, accuracy and learning rate against epoch.

    Loss is on a log scale, so that one huge first-epoch val loss does not flatten the rest;
    train top-1 is the running accuracy of the epoch's (augmented) batches, val top-1 and
    top-5 are measured after it; ``title`` names the run (architecture, data); a dashed line
    marks each epoch after which the run was resumed (:func:`resumed_after`).
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
    accuracy_axes.plot(epochs, [row["train_top1"] for row in rows], marker="o", label="train top-1")
    accuracy_axes.plot(epochs, [row["val_top1"] for row in rows], marker="o", label="val top-1")
    accuracy_axes.plot(epochs, [row["val_top5"] for row in rows], marker="o", label="val top-5")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0.0, 1.02))
    lr_axes.plot(epochs, [row["lr"] for row in rows], marker="o", label="lr at epoch end")
    lr_axes.set(xlabel="epoch", ylabel="learning rate", title="Learning rate")
    resumes = resumed_after(rows)
    for axes in (loss_axes, accuracy_axes, lr_axes):
        for epoch in resumes:
            axes.axvline(
                epoch,
                color="grey",
                linestyle="--",
                linewidth=1,
                label="resumed" if axes is lr_axes and epoch == resumes[0] else None,
            )
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure

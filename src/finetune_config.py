"""The options of a fine-tuning run, as one frozen record.

Kept apart from :mod:`.finetune` so that the CLI can build its parser, with the defaults
below, without importing MindSpore (``ghostnet predict`` on ONNX Runtime never does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything a run needs; the CLI options map one to one onto these fields."""

    data: Path
    output: Path
    model: Optional[str] = None
    """Where the backbone comes from: a ``.ckpt`` file (built as ``arch``), or a hub uid,
    card or card URL (built as the card's model-name). None trains ``arch`` from scratch."""
    arch: str = "ghostnet"
    epochs: int = 5
    batch_size: int = 32
    """Images per step on each worker (the global batch is this times the workers)."""
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    warmup_epochs: float = 1.0
    image_size: Optional[int] = None
    """Train crop and eval crop; None keeps the preprocessing record's (224)."""
    freeze_backbone: bool = False
    freeze_stages: int = 0
    resume: bool = False
    overwrite: bool = False
    """Replace a run already in ``output`` (its files are removed first)."""
    seed: int = 0
    val_split: float = 0.1
    workers: int = 2
    augment: bool = True
    """False trains on the eval transform (deterministic inputs: tests, ablations)."""
    min_crop_scale: Optional[float] = None
    """Smallest area fraction of the random resized crop; None suits it to the image size
    (``data.min_crop_scale``: 0.08 at 224 px, 0.5 at 32 px)."""
    drop_rate: float = 0.2
    progress: bool = True

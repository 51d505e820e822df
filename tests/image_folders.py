"""Tiny real image folders for the fine-tuning tests: PNG files of solid-ish colours.

Each class is one colour plus noise, so a network can tell them apart in a few steps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

COLOURS = ((220, 30, 30), (30, 30, 220), (30, 200, 30), (220, 220, 30))


def write_class_folder(root: Path, name: str, count: int, colour: Sequence[int],
                       size: int = 16, seed: int = 0) -> None:
    """``count`` noisy ``size`` x ``size`` PNGs of ``colour`` in ``root/name``."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        noise = rng.integers(-30, 30, size=(size, size, 3))
        pixels = np.clip(np.array(colour)[None, None, :] + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}_{index:03d}.png")


def write_image_folder(root: Path, classes: int = 3, per_class: int = 8,
                       size: int = 16) -> Path:
    """An image folder of ``classes`` colour classes, ``per_class`` images each; returns root."""
    for index in range(classes):
        write_class_folder(root, f"class_{index}", per_class, COLOURS[index], size, seed=index)
    return root

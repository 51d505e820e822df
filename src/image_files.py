"""The image files a ``predict`` command line names: files as given, directories walked.

Directories are walked recursively, in sorted order, for files with an image suffix; a file
named explicitly is taken whatever its suffix (the decoder then decides). A path that does
not exist, or a directory without a single image, is an input error of its own, reported
beside the images that are fine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff",
                            ".webp", ".ppm", ".pgm", ".pbm"})


@dataclass(frozen=True)
class Input:
    """One input of the command line: an image path, or a path that yielded an error."""

    path: str
    error: Optional[str] = None


def collect_images(paths: Iterable[str]) -> List[Input]:
    """Expand ``paths`` into image inputs, in command-line order, directories sorted."""
    inputs: List[Input] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(str(child) for child in Path(path).rglob("*")
                           if child.suffix.lower() in IMAGE_SUFFIXES and child.is_file())
            if not found:
                inputs.append(Input(path, "directory holds no image files "
                                          f"({', '.join(sorted(IMAGE_SUFFIXES))})"))
            inputs.extend(Input(image) for image in found)
        elif os.path.exists(path):
            inputs.append(Input(path))
        else:
            inputs.append(Input(path, "no such file or directory"))
    return inputs

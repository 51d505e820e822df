"""Fixed-shape batches: both backends run a graph compiled (or exported) for one batch size."""
from __future__ import annotations

import numpy as np


def pad_batch(images: np.ndarray, batch_size: int) -> np.ndarray:
    """``images`` ``(n, ...)`` as a float32 ``(batch_size, ...)`` array, zero rows after n.

    Raises:
        ValueError: ``n`` is 0 or larger than ``batch_size``.
    """
    count = len(images)
    if not 0 < count <= batch_size:
        raise ValueError(f"expected 1 to {batch_size} images, got {count}")
    if count == batch_size:
        return np.ascontiguousarray(images, dtype=np.float32)
    padded = np.zeros((batch_size,) + images.shape[1:], np.float32)
    padded[:count] = images
    return padded

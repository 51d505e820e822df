"""Run a restored network on batches with MindSpore in graph mode (``mindspore.jit``).

PyNative runs each operator from Python and is several times slower; graph mode compiles the
whole network once per input shape. The batch shape is therefore fixed: a shorter last batch
is padded with zeros to it and the padding's outputs dropped, so the graph compiles once.
"""
from __future__ import annotations

import mindspore
import numpy as np
from mindspore import nn

from .batching import pad_batch


class MindSporeRunner:
    """Logits of fixed-size batches through ``net`` compiled with ``mindspore.jit``.

    Args:
        net: a network in eval mode.
        batch_size: the compiled batch size; calls may pass fewer images.
    """

    def __init__(self, net: nn.Cell, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        net.set_train(False)
        self.batch_size = batch_size
        self._forward = mindspore.jit(net.construct)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(n, classes)`` for ``images`` ``(n, 3, H, W)``, ``n <= batch_size``."""
        batch = pad_batch(images, self.batch_size)
        return self._forward(mindspore.Tensor(batch)).asnumpy()[:len(images)]

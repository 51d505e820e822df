"""Model size and cost: trainable parameters, and multiply-accumulates of one image.

MACs are counted where nearly all of them are: every convolution
(``out_h * out_w * out_channels * in_channels / groups * k_h * k_w``) and every dense layer
(``in * out``). Shapes are read from one real forward pass in PyNative mode, with forward
hooks on those layers, so the count follows the network as built rather than a table kept
beside it. BatchNorm, activations, pooling and the additions are left out, as is usual.
"""
from __future__ import annotations

from typing import List

import mindspore
import numpy as np
from mindspore import nn


def count_parameters(net: nn.Cell) -> int:
    """Number of trainable parameters (BatchNorm running statistics excluded)."""
    return int(sum(np.prod(param.shape) for param in net.trainable_params()))


def count_macs(net: nn.Cell, image_size: int = 224, in_channels: int = 3) -> int:
    """Multiply-accumulates of convolutions and dense layers for one image."""
    macs: List[int] = []

    def conv_hook(cell: nn.Conv2d, inputs: tuple, output: mindspore.Tensor) -> None:
        _, out_channels, out_h, out_w = output.shape
        k_h, k_w = cell.kernel_size
        macs.append(out_h * out_w * out_channels * (cell.in_channels // cell.group) * k_h * k_w)

    def dense_hook(cell: nn.Dense, inputs: tuple, output: mindspore.Tensor) -> None:
        macs.append(cell.in_channels * cell.out_channels)

    handles = []
    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.Conv2d):
            handles.append(cell.register_forward_hook(conv_hook))
        elif isinstance(cell, nn.Dense):
            handles.append(cell.register_forward_hook(dense_hook))
    try:
        net(mindspore.Tensor(np.zeros((1, in_channels, image_size, image_size), np.float32)))
    finally:
        for handle in handles:
            handle.remove()
    return int(sum(macs))

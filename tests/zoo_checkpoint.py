"""Write checkpoints the way the MindSpore model zoo's training writes them.

Model-zoo training saves every network parameter plus the optimizer's ``moments.<name>`` for
each trainable parameter, ``global_step`` and ``learning_rate``. Tests build such files from
a real network with random weights (BatchNorm statistics included, so that eval-mode
numerics are exercised) and restore them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import mindspore as ms
import numpy as np
from mindspore import nn

from src.ghostnet import GhostNet, build_ghostnet


def randomize(net: nn.Cell, seed: int = 0) -> None:
    """Give every parameter of ``net`` random values, BN running statistics included."""
    rng = np.random.default_rng(seed)
    for param in net.get_parameters():
        shape = tuple(param.shape)
        if param.name.endswith("moving_variance"):
            values = rng.uniform(0.5, 1.5, shape)
        elif param.name.endswith("gamma"):
            values = rng.uniform(0.8, 1.2, shape)
        else:
            values = rng.normal(0.0, 0.1, shape)
        param.set_data(ms.Tensor(values.astype(np.float32)))


def random_eval_net(name: str, seed: int) -> GhostNet:
    """The variant ``name`` with random weights and BN statistics (see :func:`randomize`),
    in eval mode."""
    net = build_ghostnet(name, initialize=False)
    randomize(net, seed=seed)
    net.set_train(False)
    return net


def zoo_entries(net: nn.Cell) -> List[Dict[str, object]]:
    """The entries of a model-zoo training checkpoint for ``net``, in ``save_checkpoint`` form."""
    entries: List[Dict[str, object]] = []
    for param in net.get_parameters():
        entries.append({"name": param.name, "data": ms.Tensor(param.asnumpy())})
    for param in net.trainable_params():
        entries.append({"name": f"moments.{param.name}",
                        "data": ms.Tensor(np.zeros(param.shape, np.float32))})
    entries.append({"name": "global_step", "data": ms.Tensor(np.array([1234], np.int32))})
    entries.append({"name": "learning_rate", "data": ms.Tensor(np.array([0.01], np.float32))})
    return entries


def write_zoo_checkpoint(net: nn.Cell, path: Path) -> Path:
    """Save ``net`` as model-zoo training would, to ``path``; returns ``path``."""
    ms.save_checkpoint(zoo_entries(net), str(path))
    return path

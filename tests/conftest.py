"""Shared fixtures: a random GhostNet saved as a model-zoo checkpoint, and small inputs."""
from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from src.ghostnet import GhostNet, build_ghostnet
from tests.zoo_checkpoint import randomize, write_zoo_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def zoo_net() -> GhostNet:
    """GhostNet 1.0x with random weights and BN statistics, in eval mode."""
    net = build_ghostnet("ghostnet", initialize=False)
    randomize(net, seed=1)
    net.set_train(False)
    return net


@pytest.fixture(scope="session")
def zoo_checkpoint(zoo_net: GhostNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``zoo_net`` saved the way model-zoo training saves (with optimizer state)."""
    return write_zoo_checkpoint(zoo_net, tmp_path_factory.mktemp("zoo") / "ghostnet.ckpt")


@pytest.fixture(scope="session")
def small_batch() -> ms.Tensor:
    """Two random 3x32x32 images: small, since size does not matter to most tests."""
    rng = np.random.default_rng(7)
    return ms.Tensor(rng.normal(size=(2, 3, 32, 32)).astype(np.float32))

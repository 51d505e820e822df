"""Shared fixtures: a hermetic environment, a real HTTP server serving random assets, and a
random GhostNet saved as a model-zoo checkpoint."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import mindspore as ms
import numpy as np
import pytest

from src.ghostnet import GhostNet
from src.settings import get_settings
from tests.httpserver import FileServer
from tests.zoo_checkpoint import random_eval_net, write_zoo_checkpoint

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSET_BYTES = 300 * 1024


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No ``MSHUB_*`` variable of the developer's shell leaks in; the cache is in tmp_path."""
    for name in list(os.environ):
        if name.startswith("MSHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "env-cache"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass(frozen=True)
class Asset:
    """A random file under the server's root, with its digest."""

    path: str
    """Path relative to the served folder (what :meth:`FileServer.url` takes)."""
    data: bytes
    sha256: str


def make_asset(root: Path, path: str, size: int = ASSET_BYTES) -> Asset:
    """Write ``size`` random bytes to ``root/path``."""
    data = os.urandom(size)
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)
    return Asset(path, data, hashlib.sha256(data).hexdigest())


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The folder the test server serves."""
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


@pytest.fixture
def asset(served: Path) -> Asset:
    """A 300 KiB random checkpoint at ``models/ghostnet_test.ckpt``."""
    return make_asset(served, "models/ghostnet_test.ckpt")


@pytest.fixture
def server(served: Path) -> Iterator[FileServer]:
    """A started :class:`FileServer` on ``served``; stopped after the test."""
    with FileServer(served) as running:
        yield running


@pytest.fixture(scope="session")
def zoo_net() -> GhostNet:
    """GhostNet 1.0x with random weights and BN statistics, in eval mode."""
    return random_eval_net("ghostnet", seed=1)


@pytest.fixture(scope="session")
def zoo_checkpoint(zoo_net: GhostNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``zoo_net`` saved the way model-zoo training saves (with optimizer state)."""
    return write_zoo_checkpoint(zoo_net, tmp_path_factory.mktemp("zoo") / "ghostnet.ckpt")


@pytest.fixture(scope="session")
def small_batch() -> ms.Tensor:
    """Two random 3x32x32 images: small, since size does not matter to most tests."""
    rng = np.random.default_rng(7)
    return ms.Tensor(rng.normal(size=(2, 3, 32, 32)).astype(np.float32))

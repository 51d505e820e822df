"""``ghostnet export`` and ``ghostnet info`` on a real checkpoint."""
from __future__ import annotations

import os
from pathlib import Path

import mindspore as ms
import numpy as np
import onnxruntime
import pytest
from mindspore import nn

from src.cli import main
from src.ghostnet import GhostNet

SIZE = 32


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(2, 3, SIZE, SIZE)).astype(np.float32)


def _export(checkpoint: Path, fmt: str, path: Path) -> None:
    code = main(["export", str(checkpoint), "--arch", "ghostnet", "--format", fmt, "-o",
                 str(path), "--batch-size", "2", "--image-size", str(SIZE)])
    assert code == 0 and path.is_file()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # the same for MindIR and ONNX


def test_mindir_equals_cell(zoo_net: GhostNet, zoo_checkpoint: Path, inputs: np.ndarray,
                            tmp_path: Path) -> None:
    path = tmp_path / "ghostnet.mindir"
    _export(zoo_checkpoint, "mindir", path)
    graph = nn.GraphCell(ms.load(str(path)))
    expected = zoo_net(ms.Tensor(inputs)).asnumpy()
    np.testing.assert_allclose(graph(ms.Tensor(inputs)).asnumpy(), expected, atol=1e-4)


def test_onnx_equals_cell(zoo_net: GhostNet, zoo_checkpoint: Path, inputs: np.ndarray,
                          tmp_path: Path) -> None:
    path = tmp_path / "ghostnet.onnx"
    _export(zoo_checkpoint, "onnx", path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"images": inputs})
    expected = zoo_net(ms.Tensor(inputs)).asnumpy()
    np.testing.assert_allclose(logits, expected, atol=1e-3)


def test_info_reports_size_cost_and_preprocessing(zoo_checkpoint: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main(["info", str(zoo_checkpoint), "--arch", "ghostnet"]) == 0
    out = capsys.readouterr().out
    assert "parameters         5,182,508" in out
    assert "MACs at 224        141,150,512" in out
    assert "center-crop 224" in out and "published weights  no" in out


def test_export_needs_arch_for_a_checkpoint(zoo_checkpoint: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    code = main(["export", str(zoo_checkpoint), "--format", "onnx", "-o",
                 str(tmp_path / "x.onnx")])
    assert code == 2 and "--arch" in capsys.readouterr().err


def test_info_for_a_hub_name_reports_card_and_cache_state(zoo_checkpoint: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    from src.hub import fetch
    from src.settings import get_settings
    from tests.cards import write_index_card

    uid = write_index_card(tmp_path / "index", zoo_checkpoint, "zoo_imagenet")
    monkeypatch.setenv("MSHUB_INDEX", str(tmp_path / "index"))
    get_settings.cache_clear()
    assert main(["info", uid]) == 0
    before = capsys.readouterr().out
    assert "model-name" in before and "(not cached)" in before
    assert "checkpoint not cached" in before and "5,182,508" in before
    fetch(uid)
    assert main(["info", uid]) == 0
    after = capsys.readouterr().out
    assert "(verified)" in after and "published weights" not in after
    assert "1000 (" in after

"""Numerically broken weights never give an answer (src/numerics.py and its callers): predict
refuses them on both backends alike, a batch too small for BatchNorm is refused or warned
about, and publish refuses weights that are not finite. (A diverging fine-tuning run is
tested in test_finetune.py, on its trained run.)"""
from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from src.registry import meta_entries
from src.cli import main
from src.errors import DatasetError, FinetuneOptionsError, PublishError
from src.finetune import SmallBatchWarning, batchnorm_values, finetune
from src.finetune_config import FinetuneConfig
from src.numerics import BN_STATISTIC_LIMIT, non_finite_rows, weights_problem
from src.publish import PublishRequest, publish
from tests.zoo_checkpoint import random_eval_net

ARCH = "ghostnet_050"
BN_STAT = "blocks.5.ghost1.primary_conv.bn.moving_variance"


def test_weights_problem_names_the_parameter() -> None:
    healthy = [("conv.weight", np.ones(3, np.float32)), (BN_STAT, np.full(3, 1e3, np.float32)),
               ("global_step", np.array([7], np.int32))]
    assert weights_problem(healthy) is None
    nan = healthy + [("classifier.weight", np.array([1.0, np.nan], np.float32))]
    assert "classifier.weight holds 1 non-finite" in str(weights_problem(nan))
    exploded = healthy + [(BN_STAT, np.array([1.0, BN_STATISTIC_LIMIT * 10], np.float32))]
    assert BN_STAT in str(weights_problem(exploded))
    mean = [("bn1.moving_mean", np.array([-1e6], np.float32))]  # squared: 1e12
    assert "bn1.moving_mean" in str(weights_problem(mean))


def test_non_finite_rows() -> None:
    logits = np.array([[1.0, 2.0], [np.nan, 0.0], [np.inf, 1.0]], np.float32)
    assert non_finite_rows(logits).tolist() == [1, 2]
    assert non_finite_rows(np.zeros((0, 2), np.float32)).tolist() == []


def _broken_checkpoint(path: Path, name: str, value: float) -> Path:
    """A small net at 32 px whose parameter ``name`` is set to ``value`` everywhere."""
    net = random_eval_net(ARCH, seed=4)
    param = net.parameters_dict()[name]
    param.set_data(ms.Tensor(np.full(param.shape, value, np.float32)))
    extra = dict(meta_entries(["a", "b"] if name == "classifier.weight" else None,
                              image_size=32))
    ms.save_checkpoint(net, str(path), append_dict=extra)
    return path


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "one.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(path)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from src.settings import get_settings
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    return tmp_path / "cache"


@pytest.mark.parametrize("backend", ["mindspore", "onnxruntime"])
def test_exploded_batchnorm_is_refused_the_same_way_on_both_backends(
        backend: str, image: Path, cache: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    checkpoint = _broken_checkpoint(tmp_path / "diverged.ckpt", BN_STAT, 1e26)
    status = main(["predict", "--model", str(checkpoint), "--arch", ARCH, "--backend", backend,
                   str(image)])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert f"{checkpoint}: BatchNorm statistic {BN_STAT}" in captured.err


@pytest.mark.parametrize("backend", ["mindspore", "onnxruntime"])
def test_non_finite_outputs_are_an_error_naming_the_model(
        backend: str, image: Path, cache: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    # finite weights that overflow the logits: nothing but the outputs shows it
    net = random_eval_net(ARCH, seed=4)
    checkpoint = tmp_path / "overflow.ckpt"
    net.reset_classifier(2)
    net.classifier.weight.set_data(ms.Tensor(np.full((2, 1280), 3e38, np.float32)))
    ms.save_checkpoint(net, str(checkpoint), append_dict=dict(meta_entries(["a", "b"],
                                                                           image_size=32)))
    status = main(["predict", "--model", str(checkpoint), "--arch", ARCH, "--backend", backend,
                   str(image)])
    captured = capsys.readouterr()
    assert status == 1 and "nan" not in captured.out.lower()
    assert f"{checkpoint}: the model gives non-finite outputs" in captured.err
    assert str(image) in captured.err


def test_publish_refuses_non_finite_weights(tmp_path: Path) -> None:
    checkpoint = _broken_checkpoint(tmp_path / "nan.ckpt", "bn1.gamma", float("nan"))
    request = PublishRequest(checkpoint=checkpoint, index=tmp_path / "index", user="me",
                             version="1.0", dataset="cifar10", name=ARCH,
                             asset_base_url="http://127.0.0.1:8000/assets")
    with pytest.raises(PublishError, match="bn1.gamma holds"):
        publish(request)
    assert not (tmp_path / "index").exists()


def test_batch_too_small_for_batchnorm_is_refused_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert batchnorm_values(2, 32) == 2 and batchnorm_values(1, 224) == 49
    assert main(["finetune", "--data", str(tmp_path / "absent"), "--output",
                 str(tmp_path / "out"), "--image-size", "32", "--batch-size", "2"]) == 2
    assert "too few for batch statistics" in capsys.readouterr().err
    with pytest.raises(FinetuneOptionsError):
        finetune(FinetuneConfig(data=tmp_path, output=tmp_path / "out", image_size=32,
                                batch_size=1))
    # a batch that is merely small is warned about, then the run goes on (to the bad data)
    with pytest.warns(SmallBatchWarning, match="--batch-size 8"), pytest.raises(DatasetError):
        finetune(FinetuneConfig(data=tmp_path / "absent", output=tmp_path / "out",
                                image_size=32, batch_size=8))
    assert not (tmp_path / "out").exists()

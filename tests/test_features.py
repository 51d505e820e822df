"""The frozen part's outputs on the inference path, and their cache (src/features.py)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import List, Tuple

import mindspore as ms
import numpy as np
import pytest
from PIL import Image

from src.data import read_image_folder
from src.features import (AUGMENTED_NO_CACHE, FEATURE_CACHE_DIR, Boundary, FeatureCache,
                          FrozenPart, frozen_boundary, frozen_part)
from src.factory import create_network
from src.finetune import finetune
from src.finetune_config import FinetuneConfig
from src.ghostnet import GhostNet, build_ghostnet
from src.optim import freeze
from src.registry import IMAGENET_PREPROCESSING
from src.transforms import EvalTransform
from tests.image_folders import write_image_folder

ARCH = "ghostnet_050"
SIZE = 16
BATCH = 4
TRANSFORM = EvalTransform(IMAGENET_PREPROCESSING.at_size(SIZE))


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 colour classes of 6 16x16 PNGs."""
    return write_image_folder(tmp_path_factory.mktemp("colours"), classes=3, per_class=6)


def _frozen(tmp_path: Path, *, backbone: bool = False, stages: int = 0,
            augment: bool = False) -> Tuple[GhostNet, FrozenPart]:
    ms.set_seed(0)
    net = build_ghostnet(ARCH, num_classes=3)
    freeze(net, backbone=backbone, stages=stages)
    part = frozen_part(net, ARCH, backbone=backbone, stages=stages, output=tmp_path,
                       batch_size=BATCH, transform=TRANSFORM, augment=augment)
    assert part is not None
    return net, part


def _eval_prefix(net: GhostNet, boundary: Boundary, images: np.ndarray) -> np.ndarray:
    """The MindSpore forward of the network's first layers, step by step, in eval mode."""
    net.set_train(False)
    x = net.act1(net.bn1(net.conv_stem(ms.Tensor(images))))
    for block in list(net.blocks)[:boundary.blocks]:
        x = block(x)
    if boundary.head:
        x = net.forward_head(x, pre_logits=True).reshape(len(images), -1, 1, 1)
    return x.asnumpy()


def _paths(colours: Path) -> List[Path]:
    return sorted(colours.glob("*/*.png"))


def test_boundaries_match_what_freeze_freezes() -> None:
    net = build_ghostnet(ARCH, num_classes=3, initialize=False)
    assert frozen_boundary(net, backbone=False, stages=0) is None
    assert frozen_boundary(net, backbone=True, stages=0) == Boundary(blocks=17, head=True)
    boundary = frozen_boundary(net, backbone=False, stages=2)
    assert boundary == Boundary(blocks=3, head=False)  # stage 1 ends with blocks.2
    prefixes = boundary.parameter_prefixes()
    expected = {p.name for p in net.trainable_params() if p.name.startswith(prefixes)}
    assert set(freeze(net, stages=2)) == expected


@pytest.mark.parametrize("options", [{"backbone": True}, {"stages": 2}])
def test_outputs_on_onnxruntime_equal_the_mindspore_forward(colours: Path, tmp_path: Path,
                                                            options: dict) -> None:
    net, part = _frozen(tmp_path, **options)
    cache = part.prepare()
    assert part.engine == "ONNX Runtime"
    paths = _paths(colours)[:6]  # one full batch and a padded one
    images = np.stack([TRANSFORM(path) for path in paths])
    expected = _eval_prefix(net, part.boundary, images)
    np.testing.assert_allclose(cache.outputs(paths), expected, rtol=1e-4, atol=1e-4)


def test_rest_on_cached_outputs_gives_the_network_logits(colours: Path, tmp_path: Path) -> None:
    net, part = _frozen(tmp_path, stages=2)
    samples = [(path, 0) for path in _paths(colours)[:5]]
    images = np.stack([TRANSFORM(path) for path, _ in samples])
    net.set_train(False)
    expected = net(ms.Tensor(images)).asnumpy()
    np.testing.assert_allclose(part.logits(samples), expected, rtol=1e-3, atol=1e-4)


def test_cache_hits_by_image_sha256_and_misses_on_new_bytes(colours: Path,
                                                            tmp_path: Path) -> None:
    _, part = _frozen(tmp_path, backbone=True)
    cache = part.prepare()
    paths = _paths(colours)[:5]
    first = cache.outputs(paths)
    assert cache.computed == 5
    assert len(list(cache.folder.glob("*.npy"))) == 5
    np.testing.assert_array_equal(cache.outputs(paths[::-1]), first[::-1])
    assert cache.computed == 5  # all hits

    # a new cache on the same folder (a resumed or repeated run) reads the files
    again = FeatureCache(cache.folder, cache.runner, TRANSFORM, BATCH)
    copy = tmp_path / "copy.png"  # same bytes under another name: a hit
    shutil.copyfile(paths[0], copy)
    changed = tmp_path / "changed.png"  # one pixel changed: a miss
    pixels = np.array(Image.open(paths[0]))
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(changed)
    outputs = again.outputs(paths + [copy, changed])
    assert again.computed == 1
    np.testing.assert_array_equal(outputs[5], first[0])
    assert not np.array_equal(outputs[6], first[0])


def test_cache_is_keyed_by_the_frozen_weights(tmp_path: Path) -> None:
    net, part = _frozen(tmp_path, backbone=True)
    folder = part.prepare().folder
    assert folder.parent == tmp_path / FEATURE_CACHE_DIR
    # another checkpoint for the same frozen part: another folder, nothing shared
    stem = net.conv_stem.weight
    stem.set_data(ms.Tensor(stem.asnumpy() * 1.5))
    other = FrozenPart(net, ARCH, part.boundary, tmp_path, batch_size=BATCH,
                       transform=TRANSFORM, augment=False)
    assert other.prepare().folder != folder
    # the classifier is not frozen: training it keeps the key
    classifier = net.classifier.weight
    classifier.set_data(ms.Tensor(classifier.asnumpy() + 1.0))
    same = FrozenPart(net, ARCH, part.boundary, tmp_path, batch_size=BATCH,
                      transform=TRANSFORM, augment=False)
    assert same.prepare().folder == other.prepare().folder


def test_augmentation_says_why_training_images_are_not_cached(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, part = _frozen(tmp_path, backbone=True, augment=True)
    part.prepare()
    assert AUGMENTED_NO_CACHE in capsys.readouterr().out
    assert "new crop, flip and colour jitter" in AUGMENTED_NO_CACHE


@pytest.mark.slow
def test_linear_probe_run_trains_the_classifier_on_cached_outputs(colours: Path,
                                                                  tmp_path: Path) -> None:
    ms.set_seed(0)
    backbone = create_network(ARCH, 3, drop_rate=0.0)  # frozen training needs weights to freeze
    ms.save_checkpoint(backbone, str(tmp_path / "backbone.ckpt"))
    config = FinetuneConfig(data=colours, output=tmp_path / "run", arch=ARCH, epochs=3,
                            batch_size=BATCH, lr=0.5, image_size=SIZE, val_split=0.2,
                            freeze_backbone=True, augment=False, progress=False, workers=1,
                            warmup_epochs=0, drop_rate=0.0, model=str(tmp_path / "backbone.ckpt"))
    result = finetune(config)
    data = read_image_folder(colours, 0.2, 0)
    cached = list((tmp_path / "run" / FEATURE_CACHE_DIR).glob("*/*.npy"))
    assert len(cached) == len(data.train) + len(data.val)  # each image once, every epoch
    losses = [row["train_loss"] for row in result.metrics]
    assert losses[-1] < losses[0], losses
    assert len(result.step_losses) == 3 * (len(data.train) // BATCH)
    # the frozen part did not move, BatchNorm statistics included; the classifier did
    start = {p.name: p.asnumpy() for p in backbone.get_parameters()}
    for param in result.network.get_parameters():
        moved = not np.array_equal(param.asnumpy(), start[param.name])
        assert moved == param.name.startswith("classifier."), param.name


@pytest.mark.slow
def test_augmented_run_caches_only_val_images(colours: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ms.save_checkpoint(create_network(ARCH, 3), str(tmp_path / "backbone.ckpt"))
    config = FinetuneConfig(data=colours, output=tmp_path / "run", arch=ARCH, epochs=1,
                            batch_size=BATCH, image_size=SIZE, val_split=0.2, freeze_stages=1,
                            augment=True, progress=False, workers=1, warmup_epochs=0,
                            model=str(tmp_path / "backbone.ckpt"))
    finetune(config)
    assert AUGMENTED_NO_CACHE in capsys.readouterr().out
    data = read_image_folder(colours, 0.2, 0)
    cached = list((tmp_path / "run" / FEATURE_CACHE_DIR).glob("*/*.npy"))
    assert len(cached) == len(data.val)

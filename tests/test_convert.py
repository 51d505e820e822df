"""``ghostnet convert``: foreign checkpoints rewritten in this module's names, self-described."""
from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest

from src.checkpoint import read_checkpoint
from src.registry import read_meta
from src.cli import main
from src.convert import convert_checkpoint
from src.errors import CheckpointError, OutputError
from src.factory import create_network
from tests.foreign_checkpoints import random_tensors, write


@pytest.fixture(scope="module")
def images() -> ms.Tensor:
    return ms.Tensor(np.random.default_rng(9).normal(size=(1, 3, 32, 32)).astype(np.float32))


@pytest.fixture
def timm_050(tmp_path):
    return write(random_tensors("timm_ghostnet_050", seed=2), tmp_path / "model.safetensors")


def test_converted_timm_checkpoint_restores_to_the_same_network(timm_050, tmp_path, images,
                                                                 capsys):
    destination = tmp_path / "out" / "ghostnet_050_timm.ckpt"
    assert main(["convert", str(timm_050), str(destination)]) == 0
    report = capsys.readouterr().out
    assert "timm checkpoint; 432 tensors renamed" in report
    assert "80 dropped" in report
    assert "arch ghostnet_050 (inferred from the tensor shapes)" in report

    entries = read_checkpoint(destination)
    assert entries["arch"] == "ghostnet_050"
    meta = read_meta(entries, str(destination))
    assert meta.image_size == 224
    assert meta.class_names is not None and meta.class_names[281] == "tabby"
    assert not any(name.endswith("num_batches_tracked") for name in entries)
    converted = create_network("ghostnet_050", pretrained=destination)
    original = create_network("ghostnet_050", pretrained=timm_050)
    np.testing.assert_array_equal(converted(images).asnumpy(), original(images).asnumpy())


def test_show_names_lists_every_tensor(timm_050, tmp_path, capsys):
    assert main(["convert", str(timm_050), str(tmp_path / "a.ckpt"), "--show-names"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  blocks.9.0.bn1.running_var -> blocks.16.bn.moving_variance" in lines
    assert "  bn1.num_batches_tracked (dropped)" in lines
    assert len([line for line in lines if line.startswith("  ")]) == 512


def test_existing_destination_needs_force(timm_050, tmp_path, capsys):
    destination = tmp_path / "a.ckpt"
    destination.write_bytes(b"keep me")
    assert main(["convert", str(timm_050), str(destination)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert destination.read_bytes() == b"keep me"
    with pytest.raises(OutputError):
        convert_checkpoint(timm_050, timm_050, force=True)


def test_wrong_arch_fails_naming_the_tensor_and_writes_nothing(tmp_path, capsys):
    source = write(random_tensors("mindcv_ghostnet_130"), tmp_path / "m.ckpt")
    destination = tmp_path / "out.ckpt"
    assert main(["convert", str(source), str(destination), "--arch", "ghostnet"]) == 1
    assert "conv_stem.weight: checkpoint (20, 3, 3, 3) vs network (16, 3, 3, 3)" \
        in capsys.readouterr().err
    assert not destination.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_ghostnet_600_with_its_own_classes(tmp_path, images):
    source = write(random_tensors("model_zoo_ghostnet_600m", num_classes=37), tmp_path / "p.ckpt")
    classes = tmp_path / "pets.txt"
    classes.write_text("\n".join(f"breed {i}" for i in range(37)) + "\n")
    result = convert_checkpoint(source, tmp_path / "pets600.ckpt", class_names=None,
                                image_size=240)
    assert (result.arch, result.num_classes, result.class_names) == ("ghostnet_600", 37, None)
    assert main(["convert", str(source), str(tmp_path / "named.ckpt"), "--arch", "GhostNet-600",
                 "--classes", str(classes), "--image-size", "240"]) == 0
    meta = read_meta(read_checkpoint(tmp_path / "named.ckpt"), "named.ckpt")
    assert meta.class_names is not None and meta.class_names[36] == "breed 36"
    assert meta.image_size == 240


def test_class_names_of_the_wrong_count_are_refused(timm_050, tmp_path):
    with pytest.raises(CheckpointError, match="3 class names"):
        convert_checkpoint(timm_050, tmp_path / "a.ckpt", class_names=["a", "b", "c"])

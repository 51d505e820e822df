"""Foreign checkpoints (mindcv, timm, the model zoo's GhostNet-600) restored into this network.

Each checkpoint is built here, in its origin's names, order and layout, from the parameter
lists in ``tests/data/foreign`` (dumped from the origins' own code; see the README there), with
random weights and BatchNorm statistics. The network restored from it must hold every tensor
exactly once, at the block it belongs to, and compute the logits that an independent numpy
forward pass over the origin's names computes (:mod:`tests.numpy_ghostnet`).
"""
from __future__ import annotations

from typing import List

import mindspore as ms
import numpy as np
import pytest

from src.errors import (CheckpointError, ForeignTensorsMissingError, MissingParametersError,
                        ShapeMismatchError, UnknownCheckpointFamilyError, UnmappedTensorsError)
from src.factory import create_network
from src.foreign import convert_file, load_foreign_params
from tests.foreign_checkpoints import random_tensors, write, write_bfloat16_safetensors
from tests.numpy_ghostnet import Reference

# (parameter list, file suffix, family, this module's variant, GhostNet-600's h-swish)
CASES = [
    ("timm_ghostnet_050", ".safetensors", "timm", "ghostnet_050", False),
    ("timm_ghostnet_100", ".safetensors", "timm", "ghostnet", False),
    ("timm_ghostnet_130", ".safetensors", "timm", "ghostnet_130", False),
    ("mindcv_ghostnet_050", ".ckpt", "mindcv", "ghostnet_050", False),
    ("mindcv_ghostnet_100", ".ckpt", "mindcv", "ghostnet", False),
    ("mindcv_ghostnet_130", ".ckpt", "mindcv", "ghostnet_130", False),
    ("model_zoo_ghostnet_600m", ".ckpt", "model-zoo", "ghostnet-600", True),
]


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(2, 3, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_every_tensor_lands_once_and_logits_match_the_origin(case, tmp_path, images):
    name, suffix, family, arch, hswish = case
    tensors = random_tensors(name)
    path = write(tensors, tmp_path / f"{name}{suffix}")

    detected, _ = load_foreign_params(path)
    assert detected == family
    net = create_network(arch, pretrained=path)
    assert not net.training
    own = {p.name: p.asnumpy() for p in net.get_parameters()}

    # every float tensor of the file is one network parameter, and nothing else fills any
    by_bytes = {value.tobytes(): param for param, value in own.items()}
    assert len(by_bytes) == len(own)
    landed = {origin: by_bytes[value.tobytes()] for origin, value in tensors.items()
              if not origin.endswith("num_batches_tracked")}
    assert sorted(landed.values()) == sorted(own)
    for origin, param in landed.items():
        assert own[param].shape == tensors[origin].shape, origin

    # the k-th block the origin lists is the network's blocks.k
    depth = 2 if family == "model-zoo" else 3
    order: List[str] = []
    for origin in tensors:
        if origin.startswith("blocks."):
            prefix = ".".join(origin.split(".")[:depth])
            order += [prefix] if prefix not in order else []
    for origin, param in landed.items():
        if origin.startswith("blocks."):
            block = order.index(".".join(origin.split(".")[:depth]))
            assert param.startswith(f"blocks.{block}."), (origin, param)

    expected = Reference(tensors, family, hswish=hswish)(images)
    logits = net(ms.Tensor(images)).asnumpy()
    assert np.abs(logits - expected).max() <= 1e-4 * np.abs(expected).max()


@pytest.mark.parametrize("origin, zoo", [
    ("bn1.weight", "bn1.gamma"),
    ("blocks.1.0.conv_dw.weight", "blocks.1.dw.conv.weight"),
    ("blocks.1.0.bn_dw.bias", "blocks.1.dw.bn.beta"),
    ("blocks.6.4.se.conv_reduce.weight", "blocks.10.se.conv_reduce.weight"),
    ("blocks.7.0.shortcut.2.weight", "blocks.11.shortcut.1.conv.weight"),
    ("blocks.7.0.shortcut.3.weight", "blocks.11.shortcut.1.bn.gamma"),
    ("blocks.8.3.ghost2.cheap_operation.1.running_mean",
     "blocks.15.ghost2.cheap_operation.bn.moving_mean"),
    ("blocks.9.0.bn1.running_var", "blocks.16.bn.moving_variance"),
    ("classifier.bias", "classifier.bias"),
])
def test_timm_names_map_to_the_model_zoos(origin, zoo, tmp_path):
    path = write(random_tensors("timm_ghostnet_100"), tmp_path / "t.safetensors")
    conversion = convert_file(path)
    assert (origin, zoo) in conversion.mapped


def test_mindcv_final_conv_and_nothing_dropped(tmp_path):
    conversion = convert_file(write(random_tensors("mindcv_ghostnet_050"), tmp_path / "m.ckpt"))
    assert ("blocks.9.features.1.moving_variance", "blocks.16.bn.moving_variance") \
        in conversion.mapped
    assert len(conversion.mapped) == 432
    assert conversion.dropped == () and conversion.ignored == ()


def test_timm_drops_only_num_batches_tracked(tmp_path):
    path = write(random_tensors("timm_ghostnet_050"), tmp_path / "t.safetensors")
    conversion = convert_file(path)
    assert len(conversion.mapped) == 432
    assert len(conversion.dropped) == 80
    assert all(name.endswith(".num_batches_tracked") for name in conversion.dropped)


def test_mindcv_training_state_is_ignored_and_reported(tmp_path):
    tensors = random_tensors("mindcv_ghostnet_050")
    tensors["moments.conv_stem.weight"] = np.zeros_like(tensors["conv_stem.weight"])
    tensors["global_step"] = np.array([10], np.int32)
    conversion = convert_file(write(tensors, tmp_path / "m.ckpt"))
    assert sorted(conversion.ignored) == ["global_step", "moments.conv_stem.weight"]


def test_leftover_tensor_is_an_error_naming_it(tmp_path):
    tensors = random_tensors("timm_ghostnet_050")
    tensors["blocks.3.0.se.extra.weight"] = np.ones((2,), np.float32)
    with pytest.raises(UnmappedTensorsError, match=r"blocks\.3\.0\.se\.extra\.weight"):
        create_network("ghostnet_050", pretrained=write(tensors, tmp_path / "t.safetensors"))


def test_half_a_batchnorm_is_an_error_naming_the_missing_tensor(tmp_path):
    tensors = random_tensors("mindcv_ghostnet_050")
    del tensors["blocks.6.2.ghost1.primary_conv.1.moving_variance"]
    with pytest.raises(ForeignTensorsMissingError,
                       match=r"blocks\.6\.2\.ghost1\.primary_conv\.1\.moving_variance"):
        create_network("ghostnet_050", pretrained=write(tensors, tmp_path / "m.ckpt"))


def test_missing_block_is_a_missing_parameters_error(tmp_path):
    tensors = {k: v for k, v in random_tensors("timm_ghostnet_050").items()
               if not k.startswith("blocks.8.3.")}
    with pytest.raises(MissingParametersError, match=r"blocks\.15\.ghost1"):
        create_network("ghostnet_050", pretrained=write(tensors, tmp_path / "t.safetensors"))


def test_other_width_is_a_shape_mismatch(tmp_path):
    path = write(random_tensors("timm_ghostnet_050"), tmp_path / "t.safetensors")
    with pytest.raises(ShapeMismatchError, match="conv_stem.weight"):
        create_network("ghostnet", pretrained=path)


@pytest.mark.parametrize("names, reason", [
    ({"features.0.weight": (2, 2)}, "no known naming family"),
    ({"bn1.running_mean": (2,), "blocks.2.0.ghost1.short_conv.0.weight": (2, 2, 1, 1)},
     "GhostNetV2"),
])
def test_unknown_family_is_an_error(names, reason, tmp_path):
    tensors = {name: np.zeros(shape, np.float32) for name, shape in names.items()}
    with pytest.raises(UnknownCheckpointFamilyError, match=reason):
        create_network("ghostnet", pretrained=write(tensors, tmp_path / "x.safetensors"))


def test_an_unreadable_safetensors_file_is_a_checkpoint_error(tmp_path):
    path = write(random_tensors("timm_ghostnet_050"), tmp_path / "cut.safetensors")
    path.write_bytes(path.read_bytes()[:-100])  # truncated: the last tensor's data is short
    with pytest.raises(CheckpointError, match="cut.safetensors: not a readable safetensors"):
        create_network("ghostnet_050", pretrained=path)


def test_bfloat16_timm_file_loads_widened(tmp_path, images):
    tensors = random_tensors("timm_ghostnet_050")
    path = write_bfloat16_safetensors(tensors, tmp_path / "bf16.safetensors")
    net = create_network("ghostnet_050", pretrained=path)
    rounded = {name: (value.view(np.uint32) & 0xFFFF0000).view(np.float32)
               if value.dtype == np.float32 else value for name, value in tensors.items()}
    expected = Reference(rounded, "timm")(images)
    logits = net(ms.Tensor(images)).asnumpy()
    assert np.abs(logits - expected).max() <= 1e-4 * np.abs(expected).max()

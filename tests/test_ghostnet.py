"""The network: checkpoint-exact parameter names, variants, eval numerics, backbone API."""
from __future__ import annotations

import json
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from src.ghostnet import NUM_FEATURES, GhostNet, build_ghostnet, make_divisible
from src.registry import VARIANTS

REFERENCE = Path(__file__).parent / "data" / "reference"
FOREIGN = Path(__file__).parent / "data" / "foreign"
SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def _param_list(net: GhostNet) -> list:
    return [[p.name, list(p.shape)] for p in net.get_parameters()]


@pytest.mark.parametrize("name, reference, count, values", [
    ("ghostnet", "ghostnet_1x_params.json", 432, 5_204_476),
    ("ghostnet_nose", "ghostnet_nose_1x_params.json", 404, 3_700_608),
])
def test_parameter_list_is_the_checkpoint_contract(name, reference, count, values):
    params = _param_list(build_ghostnet(name, initialize=False))
    expected = json.loads((REFERENCE / reference).read_text())
    assert params == expected
    assert len(params) == count
    assert sum(int(np.prod(shape)) for _, shape in params) == values


@pytest.mark.parametrize("width, rounded", [
    (20.8, 20), (93.6, 92), (62.4, 64), (23.0, 24), (9.0, 12), (13.0, 12), (2.0, 4), (18.0, 20),
])
def test_widths_round_to_the_nearest_multiple_of_four_never_ten_percent_below(width, rounded):
    assert make_divisible(width) == rounded


@pytest.mark.parametrize("name, reference", [
    ("ghostnet_050", "mindcv_ghostnet_050.json"),
    ("ghostnet_130", "mindcv_ghostnet_130.json"),
    ("ghostnet_600", "model_zoo_ghostnet_600m.json"),
])
def test_widths_are_the_origins(name, reference):
    """Every shape equals the authors' (as mindcv builds 0.5x and 1.3x) in the same order,
    and GhostNet-600's parameter list is the model zoo's, names included."""
    params = _param_list(build_ghostnet(name, initialize=False))
    expected = json.loads((FOREIGN / reference).read_text())
    assert [shape for _, shape in params] == [shape for _, shape in expected]
    if name == "ghostnet_600":
        assert params == expected


def test_ghostnet_130_has_the_authors_widths():
    net = build_ghostnet("ghostnet_130", initialize=False)
    assert sum(int(np.prod(p.shape)) for p in net.get_parameters()) == 7_387_356
    assert net.conv_stem.weight.shape[0] == 20


def test_ghostnet_600_uses_hard_swish_and_a_1400_wide_head(small_batch):
    net = build_ghostnet("GhostNet-600", num_classes=0)
    net.set_train(False)
    assert len(list(net.get_parameters())) == 538
    assert net(small_batch).shape == (2, 1400)
    assert type(net.act1).__name__ == "HSwish"
    assert [info.reduction for info in net.feature_info] == [2, 4, 8, 16, 32]


@pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="no shared/ beside this clone")
@pytest.mark.parametrize("reference", ["ghostnet_1x_params.json", "ghostnet_nose_1x_params.json"])
def test_reference_copy_matches_shared_contract(reference):
    assert (REFERENCE / reference).read_bytes() == (SHARED_REFERENCE / reference).read_bytes()


def test_eval_mode_is_deterministic_and_dropout_is_off(zoo_net, small_batch):
    net = build_ghostnet("ghostnet", drop_rate=0.5, initialize=False)
    ms.load_param_into_net(net, {p.name: ms.Parameter(p.asnumpy(), name=p.name)
                                 for p in zoo_net.get_parameters()})
    net.set_train(False)
    first, second = net(small_batch).asnumpy(), net(small_batch).asnumpy()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, zoo_net(small_batch).asnumpy(), rtol=0, atol=1e-5)

    net.set_train(True)  # dropout acts in training: two calls now differ
    assert not np.array_equal(net(small_batch).asnumpy(), net(small_batch).asnumpy())


def test_training_without_dropout_is_deterministic(small_batch):
    net = build_ghostnet("ghostnet_050", num_classes=5, drop_rate=0.0)
    net.set_train(True)
    np.testing.assert_array_equal(net(small_batch).asnumpy(), net(small_batch).asnumpy())


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("size", [32, 224])
def test_every_variant_builds_and_runs(name, size):
    net = build_ghostnet(name, num_classes=11)
    net.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).normal(size=(1, 3, size, size)).astype(np.float32))
    logits = net(x).asnumpy()
    assert logits.shape == (1, 11)
    assert np.isfinite(logits).all()


@pytest.mark.parametrize("name, width", [("ghostnet_050", 0.5), ("ghostnet_130", 1.3)])
def test_width_multiplier_scales_every_width_to_a_multiple_of_four(name, width):
    net = build_ghostnet(name, initialize=False)
    convs = {p.name: p.shape for p in net.get_parameters() if p.name.endswith(".weight")}
    assert convs["conv_stem.weight"][0] == make_divisible(16 * width)
    assert convs["blocks.16.conv.weight"][0] == make_divisible(960 * width)
    for name_, shape in convs.items():
        # a ghost module's primary and cheap convs each make half of its (rounded) width
        halves = 2 if ("primary_conv" in name_ or "cheap_operation" in name_) else 1
        if name_ != "classifier.weight":
            assert (shape[0] * halves) % 4 == 0, name_
    assert convs["conv_head.weight"][0] == NUM_FEATURES


def test_half_width_chains_channels_through_every_block():
    net = build_ghostnet("ghostnet_050", initialize=False)
    shapes = {p.name: tuple(p.shape) for p in net.get_parameters()}
    # block 1's ghost1 consumes the stem's 8 channels, not the model zoo's unscaled 16
    assert shapes["conv_stem.weight"][0] == 8
    assert shapes["blocks.0.ghost1.primary_conv.conv.weight"][1] == 8


def test_grayscale_input():
    net = build_ghostnet("ghostnet", in_channels=1, num_classes=3)
    net.set_train(False)
    assert net(ms.Tensor(np.ones((2, 1, 32, 32), np.float32))).shape == (2, 3)
    assert net.conv_stem.weight.shape == (16, 1, 3, 3)


def test_features_only_matches_feature_info():
    net = build_ghostnet("ghostnet", features_only=True)
    net.set_train(False)
    maps = net(ms.Tensor(np.zeros((1, 3, 64, 64), np.float32)))
    assert [info.reduction for info in net.feature_info] == [2, 4, 8, 16, 32]
    assert [m.shape for m in maps] == [(1, info.num_chs, 64 // info.reduction, 64 // info.reduction)
                                       for info in net.feature_info]
    assert not any(p.name.startswith(("conv_head", "classifier")) for p in net.get_parameters())


def test_features_only_out_indices_selects_maps():
    net = build_ghostnet("ghostnet_050", features_only=True, out_indices=(3, 1))
    maps = net(ms.Tensor(np.zeros((1, 3, 64, 64), np.float32)))
    assert [info.reduction for info in net.feature_info] == [4, 16]
    assert [m.shape[1] for m in maps] == [info.num_chs for info in net.feature_info]


def test_pooled_features_and_head_api(small_batch):
    net = build_ghostnet("ghostnet", num_classes=0)
    net.set_train(False)
    pooled = net(small_batch)
    assert pooled.shape == (2, NUM_FEATURES)
    assert not any(p.name.startswith("classifier") for p in net.get_parameters())

    net.reset_classifier(4)
    features = net.forward_features(small_batch)
    assert features.shape == (2, 960, 1, 1)
    np.testing.assert_allclose(net.forward_head(features, pre_logits=True).asnumpy(),
                               pooled.asnumpy(), atol=1e-6)
    assert net.forward_head(features).shape == (2, 4)
    assert [p.name for p in net.get_parameters()][-2:] == ["classifier.weight", "classifier.bias"]


@pytest.mark.parametrize("config", [
    {"num_classes": -1}, {"in_channels": 0}, {"drop_rate": 1.0}, {"width": 0},
    {"features_only": True, "out_indices": (5,)}, {"features_only": True, "out_indices": (1, 1)},
])
def test_bad_config_is_refused(config):
    with pytest.raises(ValueError):
        GhostNet(**config)

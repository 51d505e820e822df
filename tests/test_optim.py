"""The optimisation recipe: what freezing leaves trainable, which parameters decay, the rates."""
from __future__ import annotations

import pytest

from src.factory import create_network
from src.optim import freeze, param_groups, warmup_cosine


@pytest.fixture()
def net():
    return create_network("ghostnet_050", 3)


def test_freeze_backbone_leaves_only_the_classifier(net) -> None:
    before = len(net.trainable_params())
    frozen = freeze(net, backbone=True)
    assert [p.name for p in net.trainable_params()] == ["classifier.weight", "classifier.bias"]
    assert len(frozen) == before - 2


def test_freeze_stages_takes_the_stem_and_the_first_stages(net) -> None:
    frozen = freeze(net, stages=2)  # stage 0 is blocks.0, stage 1 is blocks.1-2 (stride 4)
    assert frozen and all(name.startswith(("conv_stem.", "bn1.", "blocks.0.", "blocks.1.",
                                           "blocks.2.")) for name in frozen)
    assert "blocks.2.ghost2.primary_conv.conv.weight" in frozen
    trainable = {p.name for p in net.trainable_params()}
    assert "blocks.3.ghost1.primary_conv.conv.weight" in trainable
    assert not trainable & set(frozen)


@pytest.mark.parametrize("options", [{"stages": 6}, {"stages": -1},
                                     {"backbone": True, "stages": 1}])
def test_impossible_freezing_is_refused(net, options) -> None:
    with pytest.raises(ValueError):
        freeze(net, **options)


def test_weights_decay_but_batchnorm_and_biases_do_not(net) -> None:
    decay, no_decay = param_groups(net.trainable_params(), 1e-4)
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    decayed = {p.name for p in decay["params"]}
    kept = {p.name for p in no_decay["params"]}
    assert {"conv_stem.weight", "classifier.weight", "conv_head.weight"} <= decayed
    assert {"bn1.gamma", "bn1.beta", "classifier.bias", "conv_head.bias"} <= kept
    assert all(name.endswith((".gamma", ".beta", ".bias")) for name in kept)
    assert len(decayed) + len(kept) == len(net.trainable_params())


def test_warmup_then_cosine_to_zero() -> None:
    rates = warmup_cosine(0.1, total_steps=10, warmup_steps=4)
    assert rates[:4] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert rates[4] == pytest.approx(0.1) and rates[-1] < rates[5] < rates[4]
    assert len(rates) == 10 and min(rates) > 0

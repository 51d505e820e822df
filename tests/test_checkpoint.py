"""Strict restore: every parameter filled, optimizer state ignored and counted, errors named."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from src.checkpoint import read_checkpoint, restore
from src.errors import CheckpointError, MissingParametersError, ShapeMismatchError
from src.ghostnet import build_ghostnet
from src.registry import CLASSIFIER_PARAMS
from tests.zoo_checkpoint import zoo_entries

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_zoo_checkpoint_restores_every_parameter(zoo_net, zoo_checkpoint, small_batch):
    params = read_checkpoint(zoo_checkpoint)
    net = build_ghostnet("ghostnet", initialize=False)
    report = restore(net, params, source=str(zoo_checkpoint))
    net.set_train(False)

    assert len(report.loaded) == 432
    trainable = len(zoo_net.trainable_params())
    assert len(report.ignored) == trainable + 2  # moments.* plus global_step, learning_rate
    assert {"global_step", "learning_rate"} <= set(report.ignored)
    np.testing.assert_array_equal(net(small_batch).asnumpy(), zoo_net(small_batch).asnumpy())


def test_missing_parameter_is_named(zoo_net, tmp_path):
    entries = [e for e in zoo_entries(zoo_net) if e["name"] != "blocks.3.se.conv_reduce.bias"]
    path = tmp_path / "missing.ckpt"
    ms.save_checkpoint(entries, str(path))
    with pytest.raises(MissingParametersError) as caught:
        restore(build_ghostnet("ghostnet", initialize=False), read_checkpoint(path),
                source=str(path))
    assert caught.value.names == ("blocks.3.se.conv_reduce.bias",)
    assert "blocks.3.se.conv_reduce.bias" in str(caught.value) and str(path) in str(caught.value)


def test_wrong_shape_is_named_with_both_shapes(zoo_net, tmp_path):
    entries = zoo_entries(zoo_net)
    for entry in entries:
        if entry["name"] == "conv_head.bias":
            entry["data"] = ms.Tensor(np.zeros(7, np.float32))
    path = tmp_path / "shape.ckpt"
    ms.save_checkpoint(entries, str(path))
    with pytest.raises(ShapeMismatchError) as caught:
        restore(build_ghostnet("ghostnet", initialize=False), read_checkpoint(path),
                source=str(path))
    assert caught.value.mismatches == (("conv_head.bias", (7,), (1280,)),)
    assert "conv_head.bias" in str(caught.value) and "(7,)" in str(caught.value)


def test_dropped_head_keeps_fresh_classifier(zoo_checkpoint):
    net = build_ghostnet("ghostnet", num_classes=10)
    fresh = net.classifier.weight.asnumpy().copy()
    report = restore(net, read_checkpoint(zoo_checkpoint), source="zoo",
                     skip=CLASSIFIER_PARAMS)
    assert report.skipped == tuple(sorted(CLASSIFIER_PARAMS))
    np.testing.assert_array_equal(net.classifier.weight.asnumpy(), fresh)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all" * 10])
def test_unreadable_checkpoint_names_the_file(tmp_path, content):
    path = tmp_path / "broken.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="broken.ckpt"):
        read_checkpoint(path)


def test_absent_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nowhere.ckpt"):
        read_checkpoint(tmp_path / "nowhere.ckpt")


def test_skipped_parameters_raise_no_mindspore_warning():
    """The report says what was skipped; MindSpore's own 'are not loaded' lines stay out.
    In a fresh process: MindSpore's log handler keeps the stderr it first saw."""
    script = textwrap.dedent("""\
        import numpy as np
        from src.checkpoint import restore
        from src.ghostnet import build_ghostnet
        from src.registry import CLASSIFIER_PARAMS
        source = build_ghostnet("ghostnet_050", num_classes=5)
        target = build_ghostnet("ghostnet_050", num_classes=3)
        fresh = target.classifier.weight.asnumpy().copy()
        params = {p.name: p for p in source.get_parameters()}
        report = restore(target, params, source="five.ckpt", skip=CLASSIFIER_PARAMS)
        assert report.skipped == tuple(sorted(CLASSIFIER_PARAMS))
        assert np.array_equal(target.classifier.weight.asnumpy(), fresh)
        print("restored")
        """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "restored", done.stderr
    assert "are not loaded" not in done.stderr and "load_param_into_net" not in done.stderr


@pytest.mark.parametrize("name, value", [("conv_head.bias", np.nan),
                                         ("blocks.3.se.conv_reduce.bias", np.inf),
                                         ("bn1.moving_variance", 3.7e26)])
def test_weights_that_would_answer_nonsense_are_refused_on_every_load_path(
        zoo_net, tmp_path, name, value):
    """create_network (and so hub.load, export, info) restores through restore(): NaN,
    infinities and an exploded BatchNorm statistic are refused there, naming the tensor."""
    from src.errors import UnstableWeightsError
    from src.factory import create_network

    entries = zoo_entries(zoo_net)
    for entry in entries:
        if entry["name"] == name:
            data = entry["data"].asnumpy().copy()
            data.flat[0] = value
            entry["data"] = ms.Tensor(data)
    path = tmp_path / "unstable.ckpt"
    ms.save_checkpoint(entries, str(path))
    with pytest.raises(UnstableWeightsError, match=name.replace(".", r"\.")) as caught:
        create_network("ghostnet", pretrained=path)
    assert str(path) in str(caught.value)


def test_an_onnx_file_as_pretrained_says_what_it_is_for(tmp_path):
    from src.errors import ModelSpecError
    from src.factory import create_network

    model = tmp_path / "model.onnx"
    model.write_bytes(b"not read")
    with pytest.raises(ModelSpecError, match="runs on ONNX Runtime") as caught:
        create_network("ghostnet", pretrained=model)
    assert str(model) in str(caught.value) and ".ckpt" in str(caught.value)

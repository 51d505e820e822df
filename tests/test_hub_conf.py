"""The hub entry: create_network's contract, and import the way the MindSpore Hub client does."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import mindspore as ms
import numpy as np
import pytest
from mindspore import ops
from PIL import Image

import hub_conf
import mindspore_hub_conf
from src.errors import ModelSpecError
from src.registry import VARIANTS, meta_entries
from src.transforms import create_transform, resolve_data_config
from tests.conftest import REPO_ROOT


def test_both_files_expose_the_same_entry():
    assert mindspore_hub_conf.create_network is hub_conf.create_network
    assert set(hub_conf.MODEL_NAMES) == set(VARIANTS)


def test_model_list_has_descriptions_for_every_name():
    models = hub_conf.list_models()
    assert set(models) == set(VARIANTS)
    assert all(description for description in models.values())
    for name in models:  # the module docstring lists them too, for readers of the file
        assert name in hub_conf.__doc__


def test_name_is_case_insensitive_and_first_positional_is_num_classes():
    net = hub_conf.create_network("GhostNet_050", 10)
    assert net.classifier.weight.shape == (10, 1280)


def test_hub_card_name_of_ghostnet_600_is_accepted():
    """The public hub's card says ``GhostNet-600``; the client lowercases it."""
    net = hub_conf.create_network("ghostnet-600", 37)
    assert net.classifier.weight.shape == (37, 1400)
    assert "ghostnet-600" not in hub_conf.MODEL_NAMES


def test_unknown_name_lists_available_names():
    with pytest.raises(ValueError) as caught:
        hub_conf.create_network("ghostnet_200")
    for name in VARIANTS:
        assert name in str(caught.value)


def test_unknown_keyword_and_extra_positional_are_type_errors():
    with pytest.raises(TypeError):
        hub_conf.create_network("ghostnet", num_clases=10)
    with pytest.raises(TypeError):
        hub_conf.create_network("ghostnet", 10, 3)


def test_pretrained_checkpoint_path_restores_in_eval_mode(zoo_net, zoo_checkpoint, small_batch):
    net = hub_conf.create_network("ghostnet", pretrained=str(zoo_checkpoint))
    assert not net.training
    np.testing.assert_array_equal(net(small_batch).asnumpy(), zoo_net(small_batch).asnumpy())


def test_pretrained_with_other_num_classes_restores_backbone_only(zoo_net, zoo_checkpoint,
                                                                  small_batch):
    net = hub_conf.create_network("ghostnet", 10, pretrained=str(zoo_checkpoint))
    assert net.classifier.weight.shape == (10, 1280)
    np.testing.assert_array_equal(net.conv_head.weight.asnumpy(),
                                  zoo_net.conv_head.weight.asnumpy())
    np.testing.assert_array_equal(net.forward_head(net.forward_features(small_batch),
                                                   pre_logits=True).asnumpy(),
                                  zoo_net.forward_head(zoo_net.forward_features(small_batch),
                                                       pre_logits=True).asnumpy())


def test_features_only_backbone_from_checkpoint(zoo_net, zoo_checkpoint, small_batch):
    net = hub_conf.create_network("ghostnet", pretrained=zoo_checkpoint, features_only=True,
                                  out_indices=(4,))
    (last,) = net(small_batch)
    np.testing.assert_array_equal(last.asnumpy(), zoo_net.forward_features(small_batch).asnumpy())


def test_grayscale_network_adapts_the_rgb_first_conv(zoo_net, zoo_checkpoint, small_batch):
    gray = hub_conf.create_network("ghostnet", pretrained=zoo_checkpoint, in_channels=1)
    one_channel = small_batch[:, :1]
    as_rgb = ops.tile(one_channel, (1, 3, 1, 1))  # a gray image seen as R = G = B
    np.testing.assert_allclose(gray(one_channel).asnumpy(), zoo_net(as_rgb).asnumpy(),
                               rtol=1e-4, atol=1e-3)  # float sums in another order
    four = hub_conf.create_network("ghostnet", pretrained=zoo_checkpoint, in_channels=4)
    assert four.conv_stem.weight.shape[1] == 4


def test_network_carries_the_record_of_its_weights(tmp_path, small_batch):
    trained = hub_conf.create_network("ghostnet_050", 3)
    path = tmp_path / "three.ckpt"
    ms.save_checkpoint(trained, str(path), append_dict=meta_entries(
        ["cat", "dog", "eel"], image_size=40, arch="ghostnet_050"))
    net = hub_conf.create_network("ghostnet_050", pretrained=path)
    assert net.pretrained_cfg.labels() == ["cat", "dog", "eel"]
    config = resolve_data_config(net)
    assert (config.resize, config.crop) == (46, 40)
    image = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(image)
    assert create_transform(config)(image).shape == (3, 40, 40)
    head = hub_conf.create_network("ghostnet_050", 5, pretrained=path).pretrained_cfg
    assert head.num_classes == 5 and head.class_names is None  # a new head has no names
    with pytest.raises(ModelSpecError, match="this checkpoint is ghostnet_050, not ghostnet"):
        hub_conf.create_network("ghostnet", pretrained=path)


@pytest.mark.parametrize("conf_file", ["mindspore_hub_conf.py", "hub_conf.py"])
def test_import_the_way_the_hub_client_does(conf_file, tmp_path):
    """The client puts the module dir on sys.path, execs the conf by path, calls it lowercased."""
    script = textwrap.dedent(f"""
        import importlib.util, os, sys
        module_dir = {str(REPO_ROOT)!r}
        sys.path.insert(0, module_dir)
        path = os.path.join(module_dir, {conf_file!r})
        spec = importlib.util.spec_from_file_location({conf_file!r}, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        import numpy as np, mindspore as ms
        from mindspore import nn
        net = module.create_network("GhostNet".lower(), 10)
        assert isinstance(net, nn.Cell), type(net)
        net.set_train(False)
        print(net(ms.Tensor(np.zeros((1, 3, 32, 32), np.float32))).shape)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(1, 10)")


def test_conf_runs_by_path_without_the_module_dir_on_sys_path(tmp_path):
    script = textwrap.dedent(f"""
        import runpy
        module = runpy.run_path({str(REPO_ROOT / "mindspore_hub_conf.py")!r})
        print(sorted(module["list_models"]()))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ghostnet_nose" in result.stdout

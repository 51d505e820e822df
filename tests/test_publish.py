"""Publishing a checkpoint to a hub index (src/publish.py, ghostnet publish)."""
from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest

from src import hub
from src.card import load_card
from src.checkpoint import read_checkpoint
from src.cli import main
from src.registry import meta_entries
from src.errors import PublishError
from src.factory import create_network
from src.finetune import build_network
from src.finetune_config import FinetuneConfig
from src.download import sha256_file
from src.hub_rules import hub_problems
from src.publish import DEFAULT_REPO_LINK, PublishRequest, describe, publish
from src.registry import CLASSIFIER_PARAMS
from src.settings import get_settings
from tests.conftest import REPO_ROOT
from tests.httpserver import FileServer

ARCH = "ghostnet_050"
BASE_URL = "http://127.0.0.1:8000/assets"


def _checkpoint(path: Path, seed: int) -> Path:
    ms.set_seed(seed)
    net = create_network(ARCH, 3)
    extra = dict(meta_entries(["cat", "dog", "emu"]))
    extra["arch"] = ARCH
    ms.save_checkpoint(net, str(path), append_dict=extra)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = tmp_path_factory.mktemp("ckpts")
    return _checkpoint(folder / "a.ckpt", 1), _checkpoint(folder / "b.ckpt", 2)


def _publish_args(ckpt: Path, index: Path, *extra: str) -> list:
    return ["publish", str(ckpt), "--index", str(index), "--user", "me", "--version", "1.0",
            "--dataset", "cifar10", "--asset-base-url", BASE_URL, *extra]


def test_publish_writes_a_valid_card_and_the_asset(checkpoints: tuple, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(_publish_args(checkpoints[0], tmp_path)) == 0
    assert "me/1.0/ghostnet_050_cifar10: published" in capsys.readouterr().out
    card = load_card(tmp_path / "me" / "1.0" / "ghostnet_050_cifar10.md")
    assert card.model_name == ARCH and card.train_dataset == "cifar10"
    assert card.used_for == ("inference", "transfer-learning")
    # the two fields the real client's card check requires beyond the hub's schema; no image
    # size in the checkpoint: the architecture's 224
    assert (card.input_shape, card.infer_backend) == ((224, 224, 3), "cpu")
    (asset,) = (tmp_path / "assets").iterdir()
    digest = sha256_file(asset)
    assert asset.name == f"{digest[:16]}_ghostnet_050_cifar10.ckpt"
    assert card.assets[0].sha256 == digest
    assert card.assets[0].link == f"{BASE_URL}/{asset.name}"
    assert "- `2` emu" in card.body
    # what the card points to restores into the network its model-name names
    net = create_network(card.model_name, pretrained=asset)
    assert net.num_classes == 3


def test_republishing_the_same_bytes_does_nothing(checkpoints: tuple, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main(_publish_args(checkpoints[0], tmp_path)) == 0
    card = tmp_path / "me" / "1.0" / "ghostnet_050_cifar10.md"
    before = card.stat().st_mtime_ns
    capsys.readouterr()
    assert main(_publish_args(checkpoints[0], tmp_path)) == 0
    assert "already published with the same bytes" in capsys.readouterr().out
    assert card.stat().st_mtime_ns == before


def test_a_different_file_is_refused_unless_forced(checkpoints: tuple, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    first, second = checkpoints
    assert main(_publish_args(first, tmp_path)) == 0
    assert main(_publish_args(second, tmp_path)) == 1
    assert "already publishes a different checkpoint" in capsys.readouterr().err
    card = load_card(tmp_path / "me" / "1.0" / "ghostnet_050_cifar10.md")
    first_sha = card.assets[0].sha256
    assert main(_publish_args(second, tmp_path, "--force")) == 0
    card = load_card(tmp_path / "me" / "1.0" / "ghostnet_050_cifar10.md")
    assert card.assets[0].sha256 != first_sha
    _assert_same_weights(create_network(ARCH, pretrained=checkpoints[1]),
                         tmp_path / "assets" / Path(card.assets[0].link).name)


def test_model_name_must_be_a_variant_the_hub_can_build(checkpoints: tuple,
                                                         tmp_path: Path) -> None:
    request = PublishRequest(checkpoint=checkpoints[0], index=tmp_path, user="me",
                             version="1.0", dataset="cifar10", asset_base_url=BASE_URL,
                             name="my-net")
    with pytest.raises(PublishError, match="must be one of ghostnet"):
        publish(request)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("dataset, reason", [("v1..2", "'..'"), ("d" * 300, "at most 200")])
def test_publish_accepts_only_names_the_hub_client_loads(checkpoints: tuple, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture,
                                                         dataset: str, reason: str) -> None:
    args = _publish_args(checkpoints[0], tmp_path / "index", "--local-dataset")
    args[args.index("cifar10")] = dataset
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "could not load it" in err and reason in err and "Traceback" not in err
    assert not (tmp_path / "index").exists()


def test_rerun_after_a_kill_before_the_listing_converges(checkpoints: tuple,
                                                         tmp_path: Path) -> None:
    """A publish killed -9 just before it renamed index.json into place: the re-run repairs
    the listing instead of saying there is nothing to do, and cleans the killed one's temps."""
    index = tmp_path / "index"
    killer = textwrap.dedent(f"""\
        import os, signal
        real = os.replace
        def replace(source, target, *args, **kwargs):
            if str(target).endswith("index.json"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(source, target, *args, **kwargs)
        os.replace = replace
        from src.cli import main
        main({_publish_args(checkpoints[0], index)!r})
        """)
    killed = subprocess.run([sys.executable, "-c", killer], cwd=REPO_ROOT, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    card = index / "me" / "1.0" / "ghostnet_050_cifar10.md"
    assert card.is_file() and not (index / "index.json").exists()
    assert [path.name for path in index.iterdir() if path.name.endswith(".tmp")]  # its temp

    result = publish(PublishRequest(checkpoint=checkpoints[0], index=index, user="me",
                                    version="1.0", dataset="cifar10", asset_base_url=BASE_URL))
    assert (result.changed, result.listing_updated) == (False, True)
    assert "index.json brought up to date" in describe(result)
    assert json.loads((index / "index.json").read_text())["cards"] == \
        [{"uid": "me/1.0/ghostnet_050_cifar10", "model-name": ARCH}]
    assert sorted(path.name for path in index.iterdir()) == \
        [".publish.lock", "assets", "index.json", "me"]
    again = publish(PublishRequest(checkpoint=checkpoints[0], index=index, user="me",
                                   version="1.0", dataset="cifar10", asset_base_url=BASE_URL))
    assert (again.changed, again.listing_updated) == (False, False)


def test_evaluation_comes_from_metrics_beside_the_checkpoint(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path / "best.ckpt", 3)
    (tmp_path / "metrics.csv").write_text(
        "epoch,step,lr,train_loss,val_loss,val_top1,val_top5,epoch_seconds,images_per_second\n"
        "1,3,0.01,1.2,1.1,0.5,0.9,2.0,40\n2,6,0.005,0.8,0.7,0.75,1.0,2.0,40\n")
    result = publish(PublishRequest(checkpoint=ckpt, index=tmp_path / "index", user="me",
                                    version="2", dataset="cifar10", asset_base_url=BASE_URL))
    card = load_card(result.card_path)
    assert card.evaluation == "top1acc75.00 | top5acc100.00"
    assert "| 2 | 0.8000 | 0.7000 | 0.7500 | 1.0000 |" in card.body


def _assert_same_weights(net: object, ckpt: Path, skip: tuple = ()) -> None:
    saved = read_checkpoint(ckpt)
    for param in net.get_parameters():  # type: ignore[attr-defined]
        if param.name not in skip:
            np.testing.assert_array_equal(param.asnumpy(), saved[param.name].asnumpy(),
                                          err_msg=param.name)


def test_published_model_loads_by_uid_from_the_index_folder(
        checkpoints: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    result = publish(PublishRequest(checkpoint=checkpoints[0], index=index, user="me",
                                    version="1.0", dataset="cifar10",
                                    asset_base_url=(index / "assets").as_uri()))
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    get_settings.cache_clear()
    net = hub.load("me/1.0/ghostnet_050_cifar10", quiet=True)
    assert net.num_classes == 3
    _assert_same_weights(net, checkpoints[0])
    # the short uid finds it too, through the index.json that publish keeps
    assert json.loads((index / "index.json").read_text())["cards"][0]["uid"] == result.uid
    assert hub.load("me/ghostnet_050", quiet=True).num_classes == 3


def test_published_model_loads_over_http_and_finetunes_from_its_uid(
        checkpoints: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    index.mkdir()
    with FileServer(index) as server:
        publish(PublishRequest(checkpoint=checkpoints[1], index=index, user="me",
                               version="1.0", dataset="cifar10",
                               asset_base_url=server.url("assets")))
        monkeypatch.setenv("MSHUB_INDEX", server.base_url)
        get_settings.cache_clear()
        fetched = hub.fetch("me/1.0/ghostnet_050_cifar10", quiet=True)
        assert fetched.sha256 == fetched.card.assets[0].sha256
        net = hub.load("me/1.0/ghostnet_050_cifar10", quiet=True)
        _assert_same_weights(net, checkpoints[1])
        # fine-tuning from the uid: backbone restored, a fresh 2-class head
        config = FinetuneConfig(data=tmp_path, output=tmp_path, model="me/1.0/ghostnet_050_cifar10",
                                progress=False)
        tuned, arch = build_network(config, 2)
        assert arch == ARCH and tuned.num_classes == 2
        _assert_same_weights(tuned, checkpoints[1], skip=CLASSIFIER_PARAMS)


def test_a_data_set_the_hub_refuses_is_named_with_the_nearest_accepted_names(
        checkpoints: tuple, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_publish_args(checkpoints[0], tmp_path, "--dataset", "Cifar-10")) == 1
    err = capsys.readouterr().err
    assert "train-dataset" in err and "'Cifar-10'" in err and "cifar10" in err
    assert "--local-dataset" in err
    assert not any(tmp_path.iterdir())
    # a project-local index may take it, when asked explicitly
    assert main(_publish_args(checkpoints[0], tmp_path, "--dataset", "digits",
                              "--local-dataset")) == 0
    assert load_card(tmp_path / "me" / "1.0" / "ghostnet_050_digits.md").train_dataset == "digits"


def test_compound_and_spelled_out_data_sets_follow_the_hub(checkpoints: tuple,
                                                           tmp_path: Path) -> None:
    for dataset, card_name in (("Oxford-IIIT Pet", "ghostnet_050_oxfordiiitpet"),
                               ("imagenet2012_cifar10", "ghostnet_050_imagenet2012_cifar10")):
        result = publish(PublishRequest(checkpoint=checkpoints[0], index=tmp_path, user="me",
                                        version="1.0", dataset=dataset, asset_base_url=BASE_URL))
        assert result.card_path.name == f"{card_name}.md"
        assert load_card(result.card_path).train_dataset == dataset


def test_only_the_weights_are_published_and_the_card_records_their_size(
        tmp_path: Path) -> None:
    net = create_network(ARCH, 3)
    params = [{"name": p.name, "data": p} for p in net.get_parameters()]
    momenta = [{"name": f"moments.{p.name}", "data": ms.Tensor(p.asnumpy())}
               for p in net.trainable_params()]
    extra = dict(meta_entries(["cat", "dog", "emu"], 32))
    extra["arch"] = ARCH
    ms.save_checkpoint(params + momenta + [{"name": "learning_rate",
                                            "data": ms.Tensor(np.float32(0.1))}],
                       str(tmp_path / "run.ckpt"), append_dict=extra)
    result = publish(PublishRequest(checkpoint=tmp_path / "run.ckpt", index=tmp_path / "index",
                                    user="me", version="1.0", dataset="cifar10",
                                    asset_base_url=BASE_URL))
    published = read_checkpoint(result.asset_path)
    assert not [name for name in published if name.startswith("moments.")]
    assert "learning_rate" not in published
    network = {p.name for p in net.get_parameters()}
    assert network <= set(published) and set(published) - network == {"arch", "class_names",
                                                                        "image_size"}
    assert result.size == result.asset_path.stat().st_size
    assert result.size < 0.6 * (tmp_path / "run.ckpt").stat().st_size
    assert f"{result.size:,} bytes" in load_card(result.card_path).body


def test_the_published_card_passes_the_hub_gate_and_tells_the_real_client_the_classes(
        checkpoints: tuple, tmp_path: Path) -> None:
    result = publish(PublishRequest(checkpoint=checkpoints[0], index=tmp_path, user="me",
                                    version="1.0", dataset="cifar10", asset_base_url=BASE_URL))
    card = load_card(result.card_path)
    assert hub_problems(card) == []
    assert f'mindspore_hub.load("{result.uid}", 3)' in card.body
    assert f'hub.load("{result.uid}")' in card.body
    # the default repo-link is a whole repository, whose root the real client imports
    # mindspore_hub_conf.py from: this repository's root has it
    assert card.repo_link == DEFAULT_REPO_LINK
    assert len(DEFAULT_REPO_LINK.split("://", 1)[1].split("/")) == 3
    assert (REPO_ROOT / "mindspore_hub_conf.py").is_file()


def test_the_real_clients_way_gives_the_same_logits_as_hub_load(
        checkpoints: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``mindspore_hub.load(uid, N)`` does with the published card: import the repo's
    mindspore_hub_conf.py by path, ``create_network(model-name, N)``, then load the asset's
    parameters (not strictly) and switch to eval."""
    index = tmp_path / "index"
    result = publish(PublishRequest(checkpoint=checkpoints[0], index=index, user="me",
                                    version="1.0", dataset="cifar10",
                                    asset_base_url=(index / "assets").as_uri()))
    card = load_card(result.card_path)
    classes = int(re.search(r'mindspore_hub\.load\("[^"]+", (\d+)\)', card.body).group(1))
    spec = importlib.util.spec_from_file_location("mindspore_hub_conf",
                                                  REPO_ROOT / "mindspore_hub_conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    theirs = conf.create_network(card.model_name.lower(), classes)
    ms.load_param_into_net(theirs, ms.load_checkpoint(str(result.asset_path)))
    theirs.set_train(False)
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    ours = hub.load(result.uid, quiet=True)
    images = ms.Tensor(np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32))
    np.testing.assert_array_equal(theirs(images).asnumpy(), ours(images).asnumpy())


def test_info_before_download_shows_the_classes_and_size_the_card_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    net = create_network(ARCH, 3)
    ckpt = tmp_path / "small.ckpt"
    ms.save_checkpoint(net, str(ckpt), append_dict=meta_entries(["cat", "dog", "emu"], 32, ARCH))
    index = tmp_path / "index"
    result = publish(PublishRequest(checkpoint=ckpt, index=index, user="me", version="1.0",
                                    dataset="cifar10", asset_base_url=BASE_URL))
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    get_settings.cache_clear()
    assert main(["info", result.uid]) == 0
    out = capsys.readouterr().out
    assert "(not cached)" in out
    assert "3 (cat, dog, emu, ...) (from the card; checkpoint not cached)" in out
    assert "resize 37 (bilinear), center-crop 32" in out

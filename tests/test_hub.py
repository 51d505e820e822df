"""The hub client against a real loopback hub: an index of cards and a checkpoint over HTTP."""
from __future__ import annotations

import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import mindspore as ms
import numpy as np
import pytest

import hub_conf
from src import hub
from src.card import WeakHashWarning
from src.errors import (CardError, DownloadError, HTTPStatusError, HubNameError, IntegrityError,
                        MissingListingError, ModelSpecError, OfflineError, UnknownModelError,
                        UnsafeAssetNameError,
                        UntrustedRepoError)
from src.ghostnet import GhostNet
from src.cache import cache_folder
from src.download import sha256_file
from src.index import write_listing
from src.settings import get_settings
from tests.cards import VERSION, USER, card_text
from tests.conftest import REPO_ROOT
from tests.foreign_checkpoints import random_tensors, write
from tests.httpserver import FileServer
from tests.numpy_ghostnet import Reference
from tests.zoo_checkpoint import random_eval_net

CARD = "ghostnet_050_digits"
UID = f"{USER}/{VERSION}/{CARD}"
ASSET = "ghostnet_050_digits.ckpt"


@dataclass
class LoopbackHub:
    """A served folder with ``index/<uid>.md`` and ``assets/<ckpt>``, and its server."""

    root: Path
    server: FileServer
    net: GhostNet
    sha256: str

    @property
    def index_url(self) -> str:
        return self.server.url("index")

    @property
    def asset_path(self) -> str:
        return f"assets/{ASSET}"

    def write_card(self, link: str = "", sha256: str = "", name: str = CARD,
                   model_name: str = "ghostnet_050") -> Path:
        card = self.root / "index" / USER / VERSION / f"{name}.md"
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(card_text(link or self.server.url(self.asset_path),
                                  sha256 or self.sha256, model_name))
        write_listing(self.root / "index")
        return card

    def cached_asset(self) -> Path:
        return hub.get_hub_dir() / USER / VERSION / ASSET


@pytest.fixture(scope="module")
def served_net() -> GhostNet:
    return random_eval_net("ghostnet_050", seed=3)


@pytest.fixture
def loopback(tmp_path: Path, served_net: GhostNet,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackHub]:
    root = tmp_path / "served"
    (root / "assets").mkdir(parents=True)
    ms.save_checkpoint(served_net, str(root / "assets" / ASSET))
    with FileServer(root) as server:
        hub_ = LoopbackHub(root, server, served_net, sha256_file(root / "assets" / ASSET))
        hub_.write_card()
        monkeypatch.setenv("MSHUB_INDEX", hub_.index_url)
        monkeypatch.setenv("MSHUB_CACHE_DIR", str(tmp_path / "cache"))
        get_settings.cache_clear()
        yield hub_


@pytest.fixture
def images() -> ms.Tensor:
    return ms.Tensor(np.random.default_rng(5).normal(size=(2, 3, 32, 32)).astype(np.float32))


def assert_same_logits(net, expected: GhostNet, images: ms.Tensor) -> None:
    assert not net.training
    np.testing.assert_array_equal(net(images).asnumpy(), expected(images).asnumpy())


@pytest.mark.parametrize("form", ["uid", "short uid", "url", "card path"])
def test_load_by_each_name_form(loopback: LoopbackHub, images, form):
    name = {"uid": UID, "short uid": f"{USER}/ghostnet_050",
            "url": loopback.server.url(f"index/{UID}.md"),
            "card path": str(loopback.root / "index" / f"{UID}.md")}[form]
    assert_same_logits(hub.load(name), loopback.net, images)
    assert loopback.server.full_gets(loopback.asset_path) == 1
    assert loopback.cached_asset().is_file()
    # a card fetched from an index is cached for offline use; a local card stays where it is
    cached_card = hub.get_hub_dir() / USER / VERSION / f"{CARD}.md"
    assert cached_card.is_file() == (form != "card path")


def test_local_folder_index_and_real_client_sources(loopback: LoopbackHub, images):
    net = hub.load(UID, index=str(loopback.root / "index"))
    assert_same_logits(net, loopback.net, images)
    card = str(loopback.root / "index" / f"{UID}.md")
    assert_same_logits(hub.load(card, source="local"), loopback.net, images)
    with pytest.raises(HubNameError, match="source"):
        hub.load(UID, source="bitbucket")


def test_short_uid_picks_the_newest_version(loopback: LoopbackHub):
    older = loopback.root / "index" / USER / "0.9" / f"{CARD}.md"
    older.parent.mkdir(parents=True)
    older.write_text(card_text(loopback.server.url(loopback.asset_path), "0" * 64)
                     .replace(f"model-version: {VERSION}", "model-version: 0.9"))
    newer_10 = loopback.root / "index" / USER / "1.10" / f"{CARD}.md"
    newer_10.parent.mkdir(parents=True)
    newer_10.write_text(card_text(loopback.server.url(loopback.asset_path), loopback.sha256))
    write_listing(loopback.root / "index")
    fetched = hub.fetch(f"{USER}/ghostnet_050")
    assert fetched.card_path.parent.name == "1.10"  # 1.10 > 1.0 > 0.9, compared as numbers


def test_second_load_works_from_the_cache_with_the_server_stopped(loopback: LoopbackHub, images):
    hub.load(UID)
    loopback.server.stop()
    assert_same_logits(hub.load(UID), loopback.net, images)
    assert_same_logits(hub.load(UID, offline=True), loopback.net, images)


def test_wrong_sha256_leaves_nothing_in_the_cache(loopback: LoopbackHub):
    loopback.write_card(sha256="ab" * 32)
    with pytest.raises(IntegrityError) as caught:
        hub.load(UID)
    message = str(caught.value)
    assert loopback.server.url(loopback.asset_path) in message
    assert "ab" * 32 in message and loopback.sha256 in message
    folder = loopback.cached_asset().parent
    assert not loopback.cached_asset().exists()
    assert not list(folder.glob("*.incomplete"))


def test_missing_card_is_a_clear_error_with_the_url(loopback: LoopbackHub):
    with pytest.raises(HTTPStatusError) as caught:
        hub.load(f"{USER}/{VERSION}/no_such_card")
    assert caught.value.status == 404
    assert loopback.server.url(f"index/{USER}/{VERSION}/no_such_card.md") in str(caught.value)


def test_stalled_server_times_out_within_the_bound(loopback: LoopbackHub, monkeypatch):
    monkeypatch.setenv("MSHUB_READ_TIMEOUT", "0.5")
    monkeypatch.setenv("MSHUB_MAX_RETRIES", "1")
    get_settings.cache_clear()
    loopback.server.set_behaviour(loopback.asset_path, stall_s=5)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="timed out|timeout"):
        hub.load(UID, quiet=True)
    # two attempts of 0.5 s reads plus a 0.2 s backoff; generous slack for a loaded machine
    assert time.monotonic() - start < 3.5


def test_flipped_byte_in_the_cache_is_detected_and_fetched_again(loopback: LoopbackHub, images):
    hub.load(UID)
    cached = loopback.cached_asset()
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    assert not hub.info(UID).verified
    assert_same_logits(hub.load(UID), loopback.net, images)
    assert loopback.server.full_gets(loopback.asset_path) == 2
    assert hub.info(UID).verified


def test_offline_with_an_empty_cache_opens_no_socket(loopback: LoopbackHub, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("a socket was opened while offline")

    monkeypatch.setattr(socket.socket, "connect", tripwire)
    monkeypatch.setenv("MSHUB_OFFLINE", "1")
    get_settings.cache_clear()
    with pytest.raises(OfflineError) as caught:
        hub.load(UID)
    assert CARD in str(caught.value)
    assert loopback.server.requests == []


@pytest.mark.parametrize("link", ["assets/..%2F..%2Fevil.ckpt", "assets/weights.sh"])
def test_unsafe_asset_names_are_refused_before_download(loopback: LoopbackHub, link):
    loopback.write_card(link=loopback.server.url("") + link)
    with pytest.raises(UnsafeAssetNameError):
        hub.load(UID)
    assert all(not r.path.startswith("/assets") for r in loopback.server.requests)


def test_sha256_that_yaml_reads_as_a_number_is_a_card_error(loopback: LoopbackHub):
    loopback.write_card(sha256="1e10")
    with pytest.raises(CardError) as caught:
        hub.load(UID)
    assert caught.value.field == "asset-sha256"
    assert f"{CARD}.md" in str(caught.value)


def test_short_sha256_prefix_loads_with_a_warning(loopback: LoopbackHub, images):
    loopback.write_card(sha256=loopback.sha256[:8])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = hub.load(UID)
    assert any(issubclass(w.category, WeakHashWarning) for w in caught)
    assert_same_logits(net, loopback.net, images)


def test_other_num_classes_restores_everything_but_the_classifier(loopback: LoopbackHub, images):
    net = hub.load(UID, 10)
    assert net.classifier.weight.shape == (10, 1280)
    for name in ("conv_stem.weight", "blocks.5.dw.bn.moving_mean", "conv_head.weight"):
        np.testing.assert_array_equal(net.parameters_dict()[name].asnumpy(),
                                      loopback.net.parameters_dict()[name].asnumpy())
    pooled = net.forward_head(net.forward_features(images), pre_logits=True)
    expected = loopback.net.forward_head(loopback.net.forward_features(images), pre_logits=True)
    np.testing.assert_array_equal(pooled.asnumpy(), expected.asnumpy())


def test_not_pretrained_builds_without_fetching_the_asset(loopback: LoopbackHub):
    net = hub.load(UID, 4, pretrained=False)
    assert net.classifier.weight.shape == (4, 1280)
    assert loopback.server.requests_for(loopback.asset_path) == []


def test_asset_mirror_is_used_and_still_verified(loopback: LoopbackHub, images, monkeypatch):
    loopback.write_card(link=f"https://unreachable.invalid/models/{ASSET}")
    monkeypatch.setenv("MSHUB_ASSET_MIRROR", loopback.server.url("assets"))
    get_settings.cache_clear()
    assert_same_logits(hub.load(UID), loopback.net, images)
    assert loopback.server.full_gets(loopback.asset_path) == 1


def test_explicit_argument_wins_over_the_environment(loopback: LoopbackHub, monkeypatch):
    monkeypatch.setenv("MSHUB_INDEX", str(loopback.root / "no-such-index"))
    get_settings.cache_clear()
    assert hub.fetch(UID, index=loopback.index_url).card.model_name == "ghostnet_050"


def test_card_for_another_network_needs_a_trusted_repo(loopback: LoopbackHub, images):
    loopback.write_card(model_name="resnet50")
    with pytest.raises(UnknownModelError):
        hub.load(UID)
    with pytest.raises(UntrustedRepoError):
        hub.load(UID, repo_dir=REPO_ROOT)


def test_trusted_repo_dir_runs_its_hub_conf_the_real_clients_way(loopback: LoopbackHub, images):
    net = hub.load(UID, repo_dir=REPO_ROOT, trust_repo=True)
    assert_same_logits(net, loopback.net, images)


def test_list_and_info(loopback: LoopbackHub):
    assert [(e.uid, e.model_name) for e in hub.list_cards()] == [(UID, "ghostnet_050")]
    assert [e.uid for e in hub.list_cards(index=str(loopback.root / "index"))] == [UID]
    before = hub.info(UID)
    assert (before.cached, before.verified) == (False, False)
    assert before.card.assets[0].sha256 == loopback.sha256
    hub.load(UID)
    after = hub.info(UID)
    assert (after.cached, after.verified) == (True, True)
    assert after.checkpoint == loopback.cached_asset()
    assert [e.uid for e in hub.list_cards(offline=True)] == [UID]


def test_hub_list_is_the_real_clients(loopback: LoopbackHub):
    """Positional version and force_reload, card names as strings, the real type checks."""
    loopback.write_card(name="ghostnet_050_flowers")
    assert hub.hub_list() == hub.hub_list("master", True) == [CARD, "ghostnet_050_flowers"]
    with pytest.raises(TypeError):
        hub.hub_list(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hub.hub_list(None, "yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="correct version"):
        hub.hub_list("r0.9")
    with pytest.raises(ValueError, match="one version"):
        hub.hub_list("r1.5")


def test_load_and_load_weights_take_the_real_clients_arguments(loopback: LoopbackHub):
    params = hub.load_weights(UID, None, False)  # source and force_reload by position
    assert isinstance(params, dict) and params
    with pytest.raises(TypeError):
        hub.load(("not", "a", "name"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hub.load(UID, pretrained="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hub.load_weights(UID, force_reload=1)  # type: ignore[arg-type]


def test_four_part_uid_loads_and_caches_under_its_device(loopback: LoopbackHub, images):
    card = loopback.root / "index" / USER / "gpu" / VERSION / f"{CARD}.md"
    card.parent.mkdir(parents=True)
    card.write_text(card_text(loopback.server.url(loopback.asset_path), loopback.sha256))
    write_listing(loopback.root / "index")
    uid = f"{USER}/gpu/{VERSION}/{CARD}"
    assert uid in [entry.uid for entry in hub.list_cards()]
    assert hub.info(uid).card_path == hub.get_hub_dir() / USER / "gpu" / VERSION / f"{CARD}.md"
    assert_same_logits(hub.load(uid), loopback.net, images)
    assert (hub.get_hub_dir() / USER / "gpu" / VERSION / ASSET).is_file()
    url = loopback.server.url(f"index/{uid}.md")
    assert hub.info(url).card_path.parent == hub.get_hub_dir() / USER / "gpu" / VERSION


def test_chinese_twin_loads_its_english_card(loopback: LoopbackHub):
    (loopback.root / "index" / USER / VERSION / f"{CARD}_cn.md").write_text("模型名称：x\n")
    found = hub.info(f"{UID}_cn")
    assert found.card_path.name == f"{CARD}.md"


def test_list_groups_each_card_with_its_newest_version_first(loopback: LoopbackHub):
    for version, card in (("0.9", CARD), ("1.10", CARD), ("1.0", "another_card")):
        path = loopback.root / "index" / USER / version / f"{card}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(card_text(loopback.server.url(loopback.asset_path), loopback.sha256)
                        .replace(f"model-version: {VERSION}", f"model-version: {version}"))
    write_listing(loopback.root / "index")
    assert [e.uid for e in hub.list_cards()] == [
        f"{USER}/1.0/another_card", f"{USER}/1.10/{CARD}", f"{USER}/1.0/{CARD}",
        f"{USER}/0.9/{CARD}"]


def test_load_weights_and_set_hub_dir(loopback: LoopbackHub, tmp_path):
    hub.set_hub_dir(tmp_path / "elsewhere")
    try:
        assert cache_folder("someone", "2.0") == tmp_path / "elsewhere" / "someone" / "2.0"
        params = hub.load_weights(UID)
        assert (tmp_path / "elsewhere" / USER / VERSION / ASSET).is_file()
    finally:
        hub.set_hub_dir(None)
    assert len([n for n in params if not n.startswith("moments.")]) == \
        len(list(loopback.net.get_parameters()))


def test_create_network_goes_through_the_hub(loopback: LoopbackHub, images):
    assert_same_logits(hub_conf.create_network("ghostnet_050", pretrained=UID), loopback.net,
                       images)
    with pytest.raises(ModelSpecError, match="no published weights"):
        hub_conf.create_network("ghostnet_050", pretrained=True)


def public_tree(root: Path) -> Path:
    """The public hub's layout: ghostnet at 1.5 and (renamed, same model-name) at 1.10, an
    older 4-part card, and no index.json."""
    seed = (REPO_ROOT / "ghostnet.md").read_text()
    for relative in ("mindspore/1.5/ghostnet_imagenet2012.md",
                     "mindspore/1.10/ghostnet_v1_imagenet2012.md",
                     "mindspore/ascend/1.10/ghostnet_imagenet2012.md",
                     "mindspore/1.9/ghostnet_imagenet2012.md"):
        card = root / relative
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(seed)
    return root


def test_short_uid_is_the_same_card_over_a_folder_and_over_http(tmp_path):
    root = public_tree(tmp_path / "public")
    on_folder = hub.info("mindspore/ghostnet", index=str(root))
    write_listing(root)
    with FileServer(root) as server:
        over_http = hub.info("mindspore/ghostnet", index=server.base_url)
    # 1.10 > 1.9 > 1.5; at 1.10 the uid without a device wins
    expected = hub.get_hub_dir() / "mindspore" / "1.10" / "ghostnet_v1_imagenet2012.md"
    assert on_folder.card_path == over_http.card_path == expected


def test_http_index_without_a_listing_is_a_clear_error(tmp_path):
    """The public hub's tree has no index.json: short uids and listing say so; uids work."""
    root = public_tree(tmp_path / "public")
    with FileServer(root) as server:
        with pytest.raises(MissingListingError, match="index.json.*full uid"):
            hub.info("mindspore/ghostnet", index=server.base_url)
        with pytest.raises(MissingListingError):
            hub.list_cards(index=server.base_url)
        found = hub.info("mindspore/1.5/ghostnet_imagenet2012", index=server.base_url)
    assert found.card.assets[0].sha256.startswith("612f2fee")
    assert (found.cached, found.verified) == (False, False)


def test_mindcv_card_with_its_short_sha256_loads(loopback: LoopbackHub, images):
    """The public hub's mindspore/2.5 ghostnet_050 card: a mindcv checkpoint, 8-digit sha256."""
    tensors = random_tensors("mindcv_ghostnet_050", seed=4)
    asset = write(tensors, loopback.root / "assets" / "ghostnet_050-ae7771cb-910v2.ckpt")
    loopback.write_card(link=loopback.server.url("assets/ghostnet_050-ae7771cb-910v2.ckpt"),
                        sha256=sha256_file(asset)[:8], name="ghostnet_050_imagenet2012")
    with pytest.warns(WeakHashWarning):
        net = hub.load(f"{USER}/{VERSION}/ghostnet_050_imagenet2012")
    expected = Reference(tensors, "mindcv")(images.asnumpy())
    np.testing.assert_allclose(net(images).asnumpy(), expected, rtol=0,
                               atol=1e-4 * np.abs(expected).max())


def test_ghostnet_600_card_loads_by_its_hub_model_name(loopback: LoopbackHub, images):
    """noah-cvlab/gpu/1.0/ghostnet-600_v1.0_oxford_pets: model-name GhostNet-600, 37 classes."""
    tensors = random_tensors("model_zoo_ghostnet_600m", seed=5, num_classes=37)
    asset = write(tensors, loopback.root / "assets" / "ghostnet600M_pets.ckpt")
    loopback.write_card(link=loopback.server.url("assets/ghostnet600M_pets.ckpt"),
                        sha256=sha256_file(asset), name="ghostnet-600_v1.0_oxford_pets",
                        model_name="GhostNet-600")
    net = hub.load(f"{USER}/{VERSION}/ghostnet-600_v1.0_oxford_pets", num_classes=37)
    assert net.classifier.weight.shape == (37, 1400)
    expected = Reference(tensors, "model-zoo", hswish=True)(images.asnumpy())
    np.testing.assert_allclose(net(images).asnumpy(), expected, rtol=0,
                               atol=1e-4 * np.abs(expected).max())

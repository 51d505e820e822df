"""Hostile cards and listings (src/untrusted.py, and how card.py and index.py use it): bounded
size and depth, no application tags, one typed error, validated before caching, and a bad
entry skipped and reported instead of taking a listing down."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Iterator

import pytest

from src.card import load_card, parse_card
from src.cli import main
from src.errors import CardError
from src.index import SkippedEntryWarning, fetch_card, list_index, locate, write_listing
from src.untrusted import MAX_DEPTH, MAX_TEXT_BYTES, compose_yaml, load_json
from tests.cards import USER, VERSION, card_text
from tests.httpserver import FileServer

SHA = "ab" * 32
DEEP = 20_000


def good_card(link: str = "https://example.org/a/ghostnet.ckpt") -> str:
    return card_text(link, SHA, "ghostnet")


def with_field(extra: str) -> str:
    """A valid card with one more header line (before ``license``)."""
    return good_card().replace("license: Apache2.0", f"{extra}\n\nlicense: Apache2.0")


def write(index: Path, name: str, text: str) -> Path:
    path = index / USER / VERSION / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


BLOCK_NESTING = "\n" + "".join(" " * (level + 1) + f"k{level}:\n" for level in range(100)) \
    + " " * 101 + "x"


@pytest.mark.parametrize("nesting", ["[" * DEEP, "{a: " * DEEP, BLOCK_NESTING])
def test_deep_yaml_is_a_card_error_not_a_recursion_error(nesting: str) -> None:
    with pytest.raises(CardError, match="deeper than"):
        parse_card(with_field(f"evaluation: {nesting}"), "deep.md")


def test_deep_json_is_a_card_error() -> None:
    with pytest.raises(CardError, match="deeper than"):
        load_json('{"cards": ' + "[" * DEEP + "]" * DEEP + "}", "index.json")
    assert load_json('{"a": "[[[[' + "[" * DEEP + '"}', "x") == {"a": "[[[[" + "[" * DEEP}


def test_depth_limit_is_exact() -> None:
    assert compose_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "ok") is not None
    with pytest.raises(CardError):
        compose_yaml("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH, "too deep")


@pytest.mark.parametrize("value", [
    "!!python/name:os.system ghostnet",
    "!!python/object/apply:os.system ['true']",
    "!!python/str ghostnet",
    "!custom ghostnet",
    "!<tag:yaml.org,2002:python/str> ghostnet",
])
def test_application_tags_are_refused_even_on_strings(value: str) -> None:
    text = good_card().replace("model-name: ghostnet", f"model-name: {value}")
    with pytest.raises(CardError, match="tag"):
        parse_card(text, "tagged.md")


def test_core_tags_still_work() -> None:
    card = parse_card(good_card().replace("model-name: ghostnet", "model-name: !!str ghostnet"),
                      "core.md")
    assert card.model_name == "ghostnet"


@pytest.mark.parametrize("extra", ["accuracy: " + "9" * 5000, "allow-cache-ckpt: !!bool maybe"])
def test_values_the_yaml_constructors_choke_on_are_card_errors(extra: str) -> None:
    with pytest.raises(CardError):
        parse_card(with_field(extra), "odd.md")


def test_oversized_card_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_text(good_card() + "x" * MAX_TEXT_BYTES)
    with pytest.raises(CardError, match="larger than"):
        load_card(path)


def test_validate_reports_every_card_after_a_hostile_one(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    deep = write(tmp_path, "deep", with_field("evaluation: " + "[" * DEEP))
    good = write(tmp_path, "good", good_card()  # one the hub's gate accepts too
                 .replace("train-dataset: digits", "train-dataset: cifar10")
                 .replace("https://example.org/models/ghostnet",
                          "https://github.com/ghostnet-hub/ghostnet-hub"))
    assert main(["validate", str(deep), str(good)]) == 1
    out = capsys.readouterr().out
    assert "deeper than" in out and f"{good}: ok" in out


def test_folder_listing_survives_a_hostile_card(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    index = tmp_path / "index"
    write(index, "deep", with_field("evaluation: " + "[" * DEEP).replace(
        "model-name: ghostnet", "model-name: ghostnet_050"))
    write(index, "good", good_card())
    entries = list_index(str(index), root=tmp_path / "cache", offline=False)
    assert [entry.uid for entry in entries] == [f"{USER}/{VERSION}/deep", f"{USER}/{VERSION}/good"]
    location = locate(f"{USER}/ghostnet", index=str(index), offline=False,
                      root=tmp_path / "cache")  # the short uid of the same index resolves
    assert location.parts.card == "good"
    assert main(["list", "--index", str(index)]) == 0
    assert f"{USER}/{VERSION}/good" in capsys.readouterr().out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FileServer]:
    with FileServer(tmp_path / "served") as running:
        yield running


def served_index(server: FileServer, listing: object) -> str:
    index = server.root / "index"
    index.mkdir(parents=True, exist_ok=True)
    (index / "index.json").write_text(json.dumps(listing) if not isinstance(listing, str)
                                      else listing)
    return server.url("index")


def test_http_listing_skips_bad_entries_and_reports_them(server: FileServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    good = {"uid": f"{USER}/{VERSION}/good", "model-name": "ghostnet"}
    url = served_index(server, {"cards": [good, 7, {"uid": "a/../b", "model-name": "x"},
                                          {"uid": f"{USER}/{VERSION}/x"}]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entries = list_index(url, root=tmp_path / "cache", offline=False)
    assert [entry.uid for entry in entries] == [good["uid"]]
    assert sorted(str(w.message).split(" of ")[0] for w in caught
                  if w.category is SkippedEntryWarning) == \
        ["skipped entry 2", "skipped entry 3", "skipped entry 4"]
    assert main(["list", "--index", url]) == 0
    captured = capsys.readouterr()
    assert good["uid"] in captured.out and captured.err.count("warning: skipped entry") == 3


def test_deeply_nested_listing_is_a_typed_error_for_list(server: FileServer,
                                                         capsys: pytest.CaptureFixture) -> None:
    url = served_index(server, '{"cards": ' + "[" * DEEP + "]" * DEEP + "}")
    assert main(["list", "--index", url]) == 1
    assert "deeper than" in capsys.readouterr().err


def test_http_card_is_validated_before_caching_and_a_fixed_one_loads(
        server: FileServer, tmp_path: Path) -> None:
    index = server.root / "index"
    card = write(index, "model", with_field("evaluation: " + "[" * DEEP))
    cache = tmp_path / "cache"
    location = locate(f"{USER}/{VERSION}/model", index=server.url("index"), offline=False,
                      root=cache)
    with pytest.raises(CardError, match="deeper than"):
        fetch_card(location, root=cache, offline=False, force_reload=False)
    assert not list(cache.rglob("*.md"))  # nothing cached, so nothing offline is poisoned
    assert list_index(str(index), root=cache, offline=True) == []

    card.write_text(good_card())  # fixed on the server: the next call loads it, no force_reload
    loaded, cached = fetch_card(location, root=cache, offline=False, force_reload=False)
    assert loaded.model_name == "ghostnet" and cached.is_file()
    assert [entry.uid for entry in list_index("", root=cache, offline=True)] == \
        [f"{USER}/{VERSION}/model"]


def test_cached_card_that_no_longer_validates_is_fetched_again(server: FileServer,
                                                               tmp_path: Path) -> None:
    write(server.root / "index", "model", good_card())
    cache = tmp_path / "cache"
    poisoned = cache / USER / VERSION / "model.md"  # as an older client left it
    poisoned.parent.mkdir(parents=True)
    poisoned.write_text("[" * DEEP)
    location = locate(f"{USER}/{VERSION}/model", index=server.url("index"), offline=False,
                      root=cache)
    with pytest.raises(CardError):
        fetch_card(location, root=cache, offline=True, force_reload=False)
    card, _ = fetch_card(location, root=cache, offline=False, force_reload=False)
    assert card.model_name == "ghostnet" and load_card(poisoned).model_name == "ghostnet"


def test_remote_card_may_not_link_a_local_file(server: FileServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ckpt"
    secret.write_bytes(b"local bytes")
    write(server.root / "index", "model", good_card(secret.as_uri()))
    cache = tmp_path / "cache"
    location = locate(f"{USER}/{VERSION}/model", index=server.url("index"), offline=False,
                      root=cache)
    with pytest.raises(CardError, match="local file"):
        fetch_card(location, root=cache, offline=False, force_reload=False)
    # the same card in a local folder index may link a local file
    local = write(tmp_path / "local-index", "model", good_card(secret.as_uri()))
    location = locate(f"{USER}/{VERSION}/model", index=str(local.parents[2]), offline=False,
                      root=cache)
    card, _ = fetch_card(location, root=cache, offline=False, force_reload=False)
    assert card.assets[0].link == secret.as_uri()


def test_write_listing_ignores_temp_files(tmp_path: Path) -> None:
    index = tmp_path / "index"
    write(index, "good", good_card())
    write(index, ".good.md.123.0123abcd.tmp", good_card())  # an old-style temp name
    listing = json.loads(write_listing(index).read_text())
    assert listing == {"cards": [{"uid": f"{USER}/{VERSION}/good", "model-name": "ghostnet"}]}

"""Tests of src/cache.py (paths, locks, verified markers) against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import src.cache
from src.cache import cache_folder, card_path, fetch_asset, safe_asset_name
from src.errors import (CachePathError, CardError, IntegrityError, OfflineError,
                        UnsafeAssetNameError)
from src.cli import main
from src.settings import get_settings
from tests.cards import card_text
from tests.conftest import Asset, make_asset
from tests.httpserver import FileServer

ROOT = Path(__file__).resolve().parent.parent
NAME = "ghostnet_ascend_v150_imagenet2012_research_cv_top1acc73.81_top5acc91.77.ckpt"
FAST: Dict[str, Any] = dict(connect_timeout=2.0, read_timeout=2.0, max_retries=2,
                            backoff_s=0.01, progress=False, quiet=True)


@pytest.fixture
def hub_asset(served: Path) -> Asset:
    """A random checkpoint under the hub's real asset name."""
    return make_asset(served, f"models/r1.5/{NAME}")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return cache_folder("mindspore", "1.5", root=tmp_path / "cache")


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records every full hash of a cached file the verifier makes."""
    calls: list = []
    real: Callable[[Path], str] = src.cache.sha256_file

    def counting(path: Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(src.cache, "sha256_file", counting)
    return calls


def forbid_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tripwire, not a mock: any attempt to open a connection fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_sockets(monkeypatch)


def fetch(url: str, folder: Path, sha256: str, **overrides: Any) -> Path:
    """The cached path; checks that the full digest returned with it is the one expected."""
    cached = fetch_asset(url, folder, sha256, **{"offline": False, "mirror": "", **FAST,
                                                 **overrides})
    assert len(cached.sha256) == 64 and cached.sha256.startswith(sha256.strip().lower())
    return cached.path


# -- names and paths --------------------------------------------------------------------------

def test_layout_is_the_hub_clients(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    assert cache_folder("mindspore", "1.5", root=root) == root / "mindspore" / "1.5"
    assert card_path("mindspore", "1.5", "ghostnet_imagenet2012", root=root) == \
        root / "mindspore" / "1.5" / "ghostnet_imagenet2012.md"
    assert cache_folder("mindspore", "1.5") == tmp_path / "env-cache" / "mindspore" / "1.5"


@pytest.mark.parametrize("user, version", [
    ("..", "1.5"), ("mindspore", ".."), ("a/b", "1.5"), ("mindspore", "1.5/../.."),
    ("/etc", "1.5"), ("", "1.5"), (".hidden", "1.5"), ("a\\b", "1.5"), ("mind..spore", "1")])
def test_cache_paths_cannot_escape_the_root(tmp_path: Path, user: str, version: str) -> None:
    with pytest.raises(CachePathError):
        cache_folder(user, version, root=tmp_path)
    bad = version if user == "mindspore" else user
    with pytest.raises(CachePathError):
        card_path("mindspore", "1.5", bad, root=tmp_path)  # the same part, as a card name


def test_symlinked_folder_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    (root / "mindspore").symlink_to(tmp_path)
    with pytest.raises(CachePathError, match="outside the cache root"):
        cache_folder("mindspore", "1.5", root=root)


def test_safe_asset_name_decodes_the_last_path_part() -> None:
    assert safe_asset_name(f"https://download.mindspore.cn/models/r1.5/{NAME}?x=1") == NAME
    assert safe_asset_name("https://h/a/ghost%20net.mindir") == "ghost net.mindir"
    assert safe_asset_name("https://h/a/model.SAFETENSORS") == "model.SAFETENSORS"


@pytest.mark.parametrize("url", [
    "https://h/models/..%2F..%2Fevil.ckpt", "https://h/%2e%2e%2fevil.ckpt",
    "https://h/models/..", "https://h/models/", "https://h/models/.hidden.ckpt",
    "https://h/models/a%5Cb.ckpt", "https://h/models/a%00.ckpt",
    "https://h/models/model.ckpt.exe", "https://h/models/model.pth", "https://h/models/model"])
def test_unsafe_asset_names_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAssetNameError) as caught:
        safe_asset_name(url)
    assert url in str(caught.value) and isinstance(caught.value, CardError)


def test_names_too_long_for_the_file_system_are_typed_errors_up_front(tmp_path: Path) -> None:
    with pytest.raises(UnsafeAssetNameError, match="at most 200"):
        safe_asset_name("https://h/models/" + "a" * 240 + ".ckpt")
    assert safe_asset_name("https://h/" + "a" * 195 + ".ckpt")  # 200 bytes: fine
    with pytest.raises(CachePathError, match="at most 200"):
        card_path("me", "1.0", "c" * 300, root=tmp_path)
    with pytest.raises(CachePathError, match="at most 200"):
        cache_folder("é" * 101, "1.0", root=tmp_path)  # 202 bytes in UTF-8


def test_predict_with_a_too_long_asset_name_is_one_line_exit_one(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    card = tmp_path / "long.md"
    card.write_text(card_text("https://example.org/m/" + "a" * 240 + ".ckpt", "ab" * 32,
                              "ghostnet"))
    image = tmp_path / "x.png"
    image.write_bytes(b"not needed: the model fails first")
    assert main(["predict", "--model", str(card), str(image)]) == 1
    err = capsys.readouterr().err
    assert "at most 200" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_unsafe_name_is_refused_before_any_request(server: FileServer, folder: Path) -> None:
    with pytest.raises(UnsafeAssetNameError):
        fetch(server.url("..%2Fevil.ckpt"), folder, "0" * 64)
    with pytest.raises(UnsafeAssetNameError):
        fetch(server.url("models/evil.py"), folder, "0" * 64)
    assert server.requests == []


# -- fetching ---------------------------------------------------------------------------------

def test_fetch_downloads_into_the_cache_with_a_marker(server: FileServer, hub_asset: Asset,
                                                      folder: Path) -> None:
    path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    assert path == folder / NAME and path.read_bytes() == hub_asset.data
    assert sorted(p.name for p in folder.iterdir()) == \
        [NAME, f"{NAME}.lock", f"{NAME}.verified.json"]
    marker = json.loads((folder / f"{NAME}.verified.json").read_text())
    assert marker["sha256"] == hub_asset.sha256 and marker["stamp"]["size"] == len(hub_asset.data)


def test_short_prefix_digest_is_accepted(server: FileServer, hub_asset: Asset,
                                         folder: Path) -> None:
    path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256[:8])
    assert path.read_bytes() == hub_asset.data
    assert fetch(server.url(hub_asset.path), folder, hub_asset.sha256[:8]) == path
    assert server.full_gets(hub_asset.path) == 1


def test_cached_copy_is_reused_without_network_or_rehash(
        served: Path, hub_asset: Asset, folder: Path, hash_calls: list) -> None:
    with FileServer(served) as server:
        url = server.url(hub_asset.path)
        fetch(url, folder, hub_asset.sha256)
    assert hash_calls == []  # the download hashed while streaming; no second pass
    # The server is gone: only the cache can answer, and the marker spares the re-hash.
    assert fetch(url, folder, hub_asset.sha256).read_bytes() == hub_asset.data
    assert hash_calls == []


def test_missing_marker_costs_one_rehash(server: FileServer, hub_asset: Asset, folder: Path,
                                         hash_calls: list) -> None:
    path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    (folder / f"{NAME}.verified.json").unlink()
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    assert hash_calls == [path]
    assert server.full_gets(hub_asset.path) == 1


def flip_one_byte(path: Path) -> None:
    # The stamp compares mtime/ctime in ns, but kernels advance them in clock ticks (a few
    # ms); a rewrite within the same tick as the marker is the documented limit, not tested.
    time.sleep(0.05)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_is_detected_and_fetched_again(served: Path, hub_asset: Asset,
                                                    folder: Path, hash_calls: list) -> None:
    with FileServer(served) as server:
        path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    flip_one_byte(path)
    with FileServer(served) as server:
        assert fetch(server.url(hub_asset.path), folder, hub_asset.sha256) == path
        assert server.full_gets(hub_asset.path) == 1
    assert path.read_bytes() == hub_asset.data
    assert hash_calls == [path]


def test_flipped_byte_offline_is_removed_and_reported(server: FileServer, hub_asset: Asset,
                                                      folder: Path) -> None:
    path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    flip_one_byte(path)
    with pytest.raises(OfflineError, match="failed its sha256 check"):
        fetch(server.url(hub_asset.path), folder, hub_asset.sha256, offline=True)
    assert not path.exists()


def test_offline_with_empty_cache_opens_no_socket(server: FileServer, hub_asset: Asset,
                                                  folder: Path, no_sockets: None) -> None:
    with pytest.raises(OfflineError) as caught:
        fetch(server.url(hub_asset.path), folder, hub_asset.sha256, offline=True)
    assert NAME in str(caught.value) and str(folder / NAME) in str(caught.value)
    assert server.requests == []


def test_offline_with_a_cached_copy_works(server: FileServer, hub_asset: Asset,
                                          folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    server.clear_log()
    forbid_sockets(monkeypatch)
    path = fetch(server.url(hub_asset.path), folder, hub_asset.sha256, offline=True)
    assert path.read_bytes() == hub_asset.data and server.requests == []


def test_offline_setting_and_explicit_argument(server: FileServer, hub_asset: Asset,
                                               folder: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSHUB_OFFLINE", "1")
    get_settings.cache_clear()
    url = server.url(hub_asset.path)
    with pytest.raises(OfflineError):
        fetch(url, folder, hub_asset.sha256, offline=None)
    assert server.requests == []
    fetch(url, folder, hub_asset.sha256, offline=False)  # the explicit argument wins
    assert server.full_gets(hub_asset.path) == 1


def test_mirror_serves_the_asset_and_the_sha_still_applies(
        server: FileServer, served: Path, hub_asset: Asset, folder: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mirrored = make_asset(served, f"mirror/{NAME}")
    link = f"https://download.invalid/models/r1.5/{NAME}"  # never contacted
    with pytest.raises(IntegrityError, match=f"mirror/{NAME}"):
        fetch(link, folder, hub_asset.sha256, mirror=server.url("mirror"))
    monkeypatch.setenv("MSHUB_ASSET_MIRROR", server.url("mirror") + "/")
    get_settings.cache_clear()
    path = fetch(link, folder, mirrored.sha256, mirror=None)
    assert path == folder / NAME and path.read_bytes() == mirrored.data
    assert {r.path for r in server.requests} == {f"mirror/{NAME}"}


def test_force_downloads_again(server: FileServer, hub_asset: Asset, folder: Path) -> None:
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256, force=True)
    assert server.full_gets(hub_asset.path) == 2
    with pytest.raises(OfflineError, match="force"):
        fetch(server.url(hub_asset.path), folder, hub_asset.sha256, force=True, offline=True)


def test_changed_expected_sha_replaces_the_cached_copy(server: FileServer, served: Path,
                                                       hub_asset: Asset, folder: Path) -> None:
    fetch(server.url(hub_asset.path), folder, hub_asset.sha256)
    new = make_asset(served, hub_asset.path)  # the hub republished the file
    assert fetch(server.url(hub_asset.path), folder, new.sha256).read_bytes() == new.data
    assert server.full_gets(hub_asset.path) == 2


_CHILD = """
import json, sys, time
from pathlib import Path
from src.cache import fetch_asset
url, folder, sha, go = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
time.sleep(max(0.0, go - time.monotonic()))
start = time.monotonic()
path = fetch_asset(url, folder, sha, offline=False, mirror="", progress=False, quiet=True,
                   max_retries=0, read_timeout=10).path
print(json.dumps({"start": start, "end": time.monotonic(), "path": str(path)}))
"""


def test_two_processes_download_once(server: FileServer, hub_asset: Asset,
                                     folder: Path) -> None:
    # ~1 s to serve: 19 pieces of 16 KiB, 50 ms apart.
    server.set_behaviour(hub_asset.path, chunk_delay_s=0.05)
    go = time.monotonic() + 1.5  # both start together, after their imports (monotonic is
    argv = [server.url(hub_asset.path), str(folder), hub_asset.sha256, str(go)]  # system-wide)
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, *argv], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    reports = []
    for child in children:
        out, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
        reports.append(json.loads(out))
    assert all(Path(r["path"]) == folder / NAME for r in reports)
    assert (folder / NAME).read_bytes() == hub_asset.data
    # They overlapped: both had started before either finished.
    assert max(r["start"] for r in reports) < min(r["end"] for r in reports)
    assert server.full_gets(hub_asset.path) == 1
    assert len(server.requests_for(hub_asset.path)) == 1
    assert not list(folder.glob("*.incomplete"))

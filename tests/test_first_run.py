"""A first run without network or cache: every dead end says what was looked at and what
to do instead."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from PIL import Image

from src import hub, settings
from src.cli import main
from src.download import download
from src.errors import HostNotFoundError
from tests.cards import card_text, write_index_card
from tests.httpserver import FileServer

UNRESOLVABLE = "http://ghostnet-test.invalid"  # .invalid never resolves (RFC 2606)


def test_an_unresolvable_host_fails_at_once_with_what_to_do(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HostNotFoundError, match="cannot resolve the host") as error:
        download(f"{UNRESOLVABLE}/a.ckpt", tmp_path / "a.ckpt", expected_sha256=None,
                 max_retries=3, backoff_s=5)
    assert "MSHUB_INDEX" in str(error.value) and "MSHUB_OFFLINE" in str(error.value)
    assert not [record for record in caplog.records if "retry" in record.getMessage()]
    assert list(tmp_path.iterdir()) == []


def test_predict_without_network_says_what_to_do(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("MSHUB_INDEX", f"{UNRESOLVABLE}/index")
    settings.get_settings.cache_clear()
    assert main(["predict", "--model", "someone/1.0/model", str(tmp_path / "a.png")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot resolve the host 'ghostnet-test.invalid'" in err
    assert "--model run/best.ckpt" in err


def test_offline_without_the_card_says_what_to_do(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("MSHUB_OFFLINE", "1")
    settings.get_settings.cache_clear()
    assert main(["predict", str(tmp_path / "a.png")]) == 1
    err = capsys.readouterr().err
    assert "offline mode" in err and "ghostnet_imagenet2012" in err
    assert "--model run/best.ckpt" in err and "MSHUB_INDEX" in err


def test_listing_a_missing_index_folder_is_an_error(capsys: pytest.CaptureFixture,
                                                    tmp_path: Path) -> None:
    assert main(["list", "--index", str(tmp_path / "no-such-folder")]) == 1
    err = capsys.readouterr().err
    assert "no-such-folder" in err and "no such index folder" in err


def test_empty_listings_say_what_was_looked_at(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    assert main(["list", "--index", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and f"the index {tmp_path} holds no cards" in err
    assert main(["list", "--offline"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "no cards in the cache" in err and "env-cache" in err


def test_a_model_loaded_once_by_uid_predicts_later_from_anywhere_without_network(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        zoo_checkpoint: Path) -> None:
    """What ``make demo`` leaves behind: a uid whose card and checkpoint are in the hub cache
    predicts with the default index unreachable, from another folder."""
    served = tmp_path / "served"
    with FileServer(served) as server:
        served.mkdir()
        shutil.copyfile(zoo_checkpoint, served / "model.ckpt")
        uid = write_index_card(served / "index", zoo_checkpoint, "ghostnet_kept")
        card = served / "index" / f"{uid}.md"
        card.write_text(card.read_text().replace(zoo_checkpoint.as_uri(),
                                                 server.url("model.ckpt")))
        hub.fetch(uid, index=server.url("index"), quiet=True, force_reload=True)
    image = tmp_path / "elsewhere" / "photo.png"
    image.parent.mkdir()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(image)
    monkeypatch.chdir(image.parent)
    monkeypatch.setenv("MSHUB_INDEX", f"{UNRESOLVABLE}/index")  # no network from here on
    settings.get_settings.cache_clear()
    assert main(["predict", "--model", uid, "--backend", "mindspore", "photo.png"]) == 0
    assert capsys.readouterr().out.startswith("photo.png: ")


def test_a_new_demo_run_replaces_the_previous_demo_model_and_nothing_else(
        tmp_path: Path) -> None:
    from src.demo import UID, forget_previous_demo

    root = tmp_path / "hub"
    folder = root / "demo" / "1.0"
    folder.mkdir(parents=True)
    old = folder / "0123456789abcdef_ghostnet_digits.ckpt"
    old.write_bytes(b"weights of the previous demo")
    (folder / "ghostnet_digits.md").write_text(card_text(f"http://127.0.0.1:1/{old.name}",
                                                         "ab" * 32))
    (folder / "ghostnet-0123456789abcdef.ort.onnx").write_bytes(b"its export")
    (folder / "ghostnet-0123456789abcdef.json").write_text("{}")
    other = root / "someone" / "1.0"
    other.mkdir(parents=True)
    (other / "model.md").write_text("another card\n")
    (other / "ghostnet-fedcba9876543210.ort.onnx").write_bytes(b"another export")
    forget_previous_demo(root)
    # the asset's lock file stays, as after `ghostnet cache clean`: removing a lock file
    # another process may be opening would let two downloads hold "the" lock
    assert [path.name for path in folder.iterdir() if path.suffix != ".lock"] == []
    assert sorted(path.name for path in other.iterdir()) == [
        "ghostnet-fedcba9876543210.ort.onnx", "model.md"]
    assert UID == "demo/1.0/ghostnet_digits"

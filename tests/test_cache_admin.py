"""``ghostnet cache list`` / ``clean`` on a real cache filled through the hub client."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from src import settings
from src.cache import get_hub_dir, try_asset_lock
from src.cli import main
from src.weights import fetch
from tests.cards import USER, VERSION, write_index_card


@pytest.fixture()
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache with two fetched cards (and verified assets), and one export."""
    index = tmp_path / "index"
    for card in ("alpha", "beta"):
        asset = tmp_path / f"{card}.ckpt"
        asset.write_bytes(card.encode() * 1000)
        write_index_card(index, asset, card)
    monkeypatch.setenv("MSHUB_INDEX", str(index))
    settings.get_settings.cache_clear()
    for card in ("alpha", "beta"):
        fetch(f"{USER}/{VERSION}/{card}", quiet=True)
    root = get_hub_dir()
    (root / "exports").mkdir()
    (root / "exports" / "ghostnet-0123-b1.ort.onnx").write_bytes(b"x" * 2048)
    return root


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple:
    code = main(["cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_each_entry(filled: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["UID", "FILES", "SIZE", "VERIFIED", "LAST", "USED"]
    alpha = next(line for line in lines if line.startswith(f"{USER}/{VERSION}/alpha "))
    folder = filled / USER / VERSION
    size = sum(path.stat().st_size for path in folder.glob("alpha*") if "lock" not in path.name)
    assert alpha.split()[1:5] == ["3", f"{size / 1024:.1f}", "KiB", "yes"]  # card, asset, marker
    assert any(line.startswith("(exports)") for line in lines)
    assert lines[-1].startswith("3 entries")


def test_clean_by_uid_dry_run_then_for_real(filled: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    folder = filled / USER / VERSION
    code, out, _ = _run(capsys, "clean", f"{USER}/{VERSION}/alpha", "--dry-run")
    assert code == 0 and "would remove" in out and (folder / "alpha.ckpt").is_file()
    code, out, _ = _run(capsys, "clean", f"{USER}/{VERSION}/alpha")
    assert code == 0 and "removed" in out
    assert not (folder / "alpha.ckpt").exists() and not (folder / "alpha.md").exists()
    assert not (folder / "alpha.ckpt.verified.json").exists()
    assert (folder / "beta.ckpt").is_file() and (filled / "exports").is_dir()
    code, _, err = _run(capsys, "clean", "nobody/1.0/none")
    assert code == 1 and "not in the cache: nobody/1.0/none" in err


def test_clean_by_age_and_exports(filled: Path, capsys: pytest.CaptureFixture) -> None:
    old = time.time() - 40 * 86400
    for path in (filled / USER / VERSION).glob("beta*"):
        os.utime(path, (old, old))
    assert _run(capsys, "clean", "--older-than", "30")[0] == 0
    folder = filled / USER / VERSION
    assert not (folder / "beta.ckpt").exists() and (folder / "alpha.ckpt").is_file()
    assert _run(capsys, "clean", "--exports")[0] == 0
    assert list((filled / "exports").iterdir()) == []


def test_clean_never_removes_a_file_being_downloaded(filled: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    asset = filled / USER / VERSION / "alpha.ckpt"
    with try_asset_lock(asset) as held:  # as a downloading process holds it
        assert held
        code, out, _ = _run(capsys, "clean", "--all")
    assert code == 1 and "skipped 1 file(s) being downloaded" in out
    assert asset.is_file() and (asset.parent / "alpha.md").is_file()
    assert not (asset.parent / "beta.ckpt").exists()


def test_clean_needs_a_choice(filled: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = _run(capsys, "clean")
    assert code == 2 and "--older-than" in err

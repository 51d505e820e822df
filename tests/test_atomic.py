"""Temporary files after a kill -9 (src/atomic.py and its callers): a writer killed with SIGKILL
leaves a temporary that no card or checkpoint glob mistakes for a real file, and the next
operation that takes the lock (or starts a run) removes it. Every kill here is a real
SIGKILL of a real subprocess."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import List

import pytest

from src.atomic import atomic_path, remove_stale_temps, temp_name, write_text
from src.cache import fetch_asset
from src.errors import CheckpointError
from src.finetune import finetune
from src.finetune_config import FinetuneConfig
from src.index import fetch_card, list_index, locate
from tests.cards import USER, VERSION, card_text
from tests.conftest import REPO_ROOT, Asset
from tests.httpserver import FileServer
from tests.image_folders import write_image_folder


def run_killed(script: str) -> None:
    """Run ``script`` in a fresh Python that kills itself with SIGKILL where it says so."""
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO_ROOT,
                               timeout=120, capture_output=True, text=True)
    assert completed.returncode == -signal.SIGKILL, completed.stderr


def entries(folder: Path) -> List[str]:
    return sorted(path.name for path in folder.iterdir())


def test_temp_names_match_no_card_or_checkpoint_glob(tmp_path: Path) -> None:
    for target in ("card.md", "last.ckpt", "index.json"):
        for kind in (".tmp", ".incomplete", ".download"):
            name = temp_name(target, kind)
            assert name.startswith(f".{target}.{os.getpid()}.") and name.endswith(kind)
            assert not Path(name).match("*.md") and not Path(name).match("*.ckpt")
    with pytest.raises(ValueError):
        temp_name("card.md", ".md")


def test_a_live_writers_temp_is_kept_and_only_temps_are_removed(tmp_path: Path) -> None:
    keep = ["card.md", ".card.md.tmp", ".x.1.zzzzzzzz.tmp", "x.1.0123abcd.tmp"]
    for name in keep:
        (tmp_path / name).write_text("real")
    with atomic_path(tmp_path / "new.md") as temporary:
        temporary.write_text("being written")
        assert remove_stale_temps(tmp_path) == []  # its own process is alive
        assert temporary.parent.name.endswith(".tmp")
    assert entries(tmp_path) == sorted(keep + ["new.md"])


def test_card_write_killed_before_the_rename_is_never_listed_and_is_cleaned(
        tmp_path: Path) -> None:
    index = tmp_path / "index"
    card = index / USER / VERSION / "model.md"
    text = card_text("https://example.org/m.ckpt", "ab" * 32, "ghostnet")
    run_killed(f"""
        import os, signal
        from src.atomic import atomic_path
        with atomic_path({str(card)!r}) as temporary:
            temporary.write_text({text!r})
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    folder = card.parent
    (leftover,) = folder.iterdir()
    assert leftover.name.startswith(".model.md.") and leftover.name.endswith(".tmp")
    assert list(index.glob("*/*/*.md")) == [] and list(index.rglob("*.md")) == []
    assert list_index(str(index), root=tmp_path / "cache", offline=False) == []
    assert remove_stale_temps(folder) == [leftover]
    assert entries(folder) == []
    write_text(card, text)  # and the next real write is listed
    assert [e.uid for e in list_index(str(index), root=tmp_path / "cache", offline=False)] == \
        [f"{USER}/{VERSION}/model"]


def test_download_killed_mid_body_is_cleaned_by_the_next_fetch(served: Path, asset: Asset,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "cache" / USER / VERSION
    with FileServer(served) as server:
        server.set_behaviour(asset.path, chunk_bytes=1024, chunk_delay_s=0.05)
        url = server.url(asset.path)
        process = subprocess.Popen(
            [sys.executable, "-c", "from pathlib import Path; from src.cache import fetch_asset; "
                                   f"fetch_asset({url!r}, Path({str(folder)!r}), "
                                   f"{asset.sha256!r}, progress=False)"], cwd=REPO_ROOT)
        try:
            deadline = time.monotonic() + 60
            while not any(path.name.endswith(".incomplete") and path.stat().st_size > 0
                          for path in (folder.iterdir() if folder.exists() else [])):
                assert time.monotonic() < deadline, "the download never started"
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        (partial,) = [path for path in folder.iterdir() if path.name.endswith(".incomplete")]
        assert partial.name.startswith(".") and list(folder.glob("*.ckpt")) == []

        server.set_behaviour(asset.path, chunk_bytes=16 * 1024, chunk_delay_s=0.0)  # healthy
        cached = fetch_asset(url, folder, asset.sha256, progress=False)
    assert cached.path.read_bytes() == asset.data
    assert not partial.exists()
    assert [name for name in entries(folder) if name.endswith(".incomplete")] == []


def test_checkpoint_save_killed_is_cleaned_when_the_next_run_starts(tmp_path: Path) -> None:
    data = write_image_folder(tmp_path / "data", classes=2, per_class=3)
    output = tmp_path / "run"
    output.mkdir()
    run_killed(f"""
        import os, signal
        from src.atomic import atomic_path
        with atomic_path({str(output / "last.ckpt")!r}) as temporary:
            temporary.with_suffix(".tmp").write_bytes(b"half a checkpoint")  # as MindSpore
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    (leftover,) = output.iterdir()
    assert leftover.name.startswith(".last.ckpt.") and list(output.rglob("last.ckpt")) == []
    with pytest.raises(CheckpointError, match="last.ckpt"):  # nothing to resume from
        finetune(FinetuneConfig(data=data, output=output, resume=True, image_size=224,
                                batch_size=1, progress=False))
    assert entries(output) == []


def test_card_fetch_removes_the_temps_of_dead_processes(served: Path, tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # that process has exited and been reaped
    cache = tmp_path / "cache"
    stale_card = cache / USER / VERSION / f".model.md.{pid}.0123abcd.tmp"
    stale_scratch = cache / ".index" / f".fetched.{pid}.0123abcd.download"
    (stale_card / "model.md").parent.mkdir(parents=True)
    (stale_card / "model.md").write_text("half a card")
    stale_scratch.parent.mkdir()
    stale_scratch.write_text("half a listing")
    card = served / "index" / USER / VERSION / "model.md"
    card.parent.mkdir(parents=True)
    card.write_text(card_text("https://example.org/m.ckpt", "ab" * 32, "ghostnet"))
    with FileServer(served) as server:
        location = locate(f"{USER}/{VERSION}/model", index=server.url("index"), offline=False,
                          root=cache)
        fetch_card(location, root=cache, offline=False, force_reload=False)
    assert entries(cache / USER / VERSION) == ["model.md"]
    assert entries(cache / ".index") == []

"""The ``ghostnet`` command line itself: options anywhere, --debug, pipes, progress bars."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from src.cli import main
from src.progress import progress_bar
from src.settings import get_settings
from tests.cards import write_index_card

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_debug_after_the_command_shows_the_traceback(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"\0")
    assert main(["predict", "--model", str(weights), "x.png"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["predict", "--model", str(weights), "--debug", "x.png"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "ModelSpecError" in err


def test_debug_after_a_subcommand_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    monkeypatch.setenv("MSHUB_CACHE_DIR", str(not_a_folder))
    get_settings.cache_clear()
    for action in (["list"], ["clean", "--all", "--dry-run"]):
        assert main(["cache", *action]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and f"{not_a_folder} is not a folder" in err
        assert main(["cache", *action, "--debug"]) == 1
        assert "Traceback" in capsys.readouterr().err


def test_an_unknown_option_shows_the_command_usage(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--top-kk", "3", "x.png"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "usage: ghostnet predict" in err and "unrecognized arguments: --top-kk" in err
    with pytest.raises(SystemExit):  # --top-k is --topk's other spelling
        main(["predict", "--top-k", "0", "x.png"])
    assert "argument --topk/--top-k: must be at least 1" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    asset = tmp_path / "weights.ckpt"
    asset.write_bytes(b"not read by list")
    index = tmp_path / "index"
    for number in range(50):
        write_index_card(index, asset, f"card_{number:02d}")
    process = subprocess.Popen([sys.executable, "-m", "src.cli", "list", "--index", str(index)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head -0` would: the reader is gone before any output
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_progress_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    reader, writer = os.pipe()
    with os.fdopen(writer, "w") as pipe:
        monkeypatch.setattr(sys, "stderr", pipe)
        for _ in progress_bar(iterable=range(3), total=3):
            pass
    with os.fdopen(reader) as pipe:
        assert pipe.read() == ""  # not a byte, let alone a \r update
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        assert not progress_bar(total=3).disable
        assert progress_bar(total=3, enabled=False).disable
    os.close(master)

"""Atomic file writes: write beside the target, then ``os.replace`` it into place.

A reader (or a crash, or Ctrl-C) never sees a half-written metrics file, card, checkpoint
or copied asset: the target either keeps its old content or has the new one. The temporary
file lives in the target's folder, so the final rename never crosses file systems, and it
is removed if anything fails before the rename.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]
FILE_MODE = 0o644
"""Permissions of every file written here: the owner writes, everyone reads."""


@contextmanager
def atomic_path(target: PathLike) -> Iterator[Path]:
    """A temporary path beside ``target`` (its folder is created); on success it replaces
    ``target``.

    The caller writes the temporary file in any way it likes (``save_checkpoint``,
    ``savefig``, ...). On an exception the temporary file is removed and ``target`` is left
    as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the target's suffix: some writers (MindSpore's
    # save_checkpoint) append ".ckpt" to a name that lacks it.
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}",
                                    dir=str(target.parent))
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, FILE_MODE)  # mkstemp makes 0600, and some writers make it 0400
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text(target: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_bytes(target: PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)


def copy_file(source: PathLike, target: PathLike) -> None:
    """Copy ``source`` to ``target`` atomically (content only, not permissions)."""
    with atomic_path(target) as temporary:
        shutil.copyfile(source, temporary)

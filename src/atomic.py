"""Temporary files: atomic writes, names no glob mistakes for real files, stale-temp cleanup.

A reader (or a crash, or Ctrl-C) never sees a half-written metrics file, card, checkpoint
or copied asset: the target either keeps its old content or has the new one. The temporary
file lives in the target's folder, so the final rename never crosses file systems, and it
is removed if anything fails before the rename.

A ``kill -9`` runs no ``finally``, so a temporary can survive its writer. After one, nothing
may look real that is not, so every temporary is named by :func:`temp_name`:
``.<target>.<pid>.<random>.<kind>``. It is hidden, it ends in ``.tmp``, ``.incomplete`` or
``.download`` (never ``.md`` or ``.ckpt``, so no card or checkpoint glob matches it), and it
names the process that owns it; an atomic write's file inside its folder is ``partial``, so
no glob matches that either, at any depth. :func:`remove_stale_temps` removes those whose process is
gone; the hub cache, publish and fine-tuning call it when they take their lock or start.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Union

PathLike = Union[str, "os.PathLike[str]"]
FILE_MODE = 0o644
"""Permissions of every file written here: the owner writes, everyone reads."""


TEMP_KINDS = (".tmp", ".incomplete", ".download")
"""Suffixes of temporaries: an atomic write's folder, a download, a scratch copy."""
_TEMP = re.compile(
    r"\.(?P<target>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{8}(?:"
    + "|".join(re.escape(kind) for kind in TEMP_KINDS)
    + ")"
)


def temp_name(target: str, kind: str) -> str:
    """``.<target>.<pid>.<random>.<kind>``: the name of a temporary of this process."""
    if kind not in TEMP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TEMP_KINDS)}, got {kind!r}")
    return f".{target}.{os.getpid()}.{secrets.token_hex(4)}{kind}"


def remove_stale_temps(folder: Path) -> List[Path]:
    """Remove the temporaries in ``folder`` (see :func:`temp_name`) whose process no longer
    runs, and return them. A temporary of a live process, this one's included, is kept;
    anything not named as a temporary is never touched."""
    removed: List[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if match is None or _process_alive(int(match.group("pid"))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine). Unknown counts as alive."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_file`` (Linux and macOS) while in the block.

    The lock file is never deleted: removing it while another process waits on it would let
    a third process lock a new file and run alongside. Waiting has no timeout of its own.
    """
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def try_exclusive_lock(lock_file: Path) -> Iterator[bool]:
    """:func:`exclusive_lock` without waiting: True in the block when the lock is held,
    False when another process holds it (and nothing is locked)."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path for ``target`` (its folder is created); on success it replaces
    ``target``.

    The caller writes the temporary file in any way it likes (``save_checkpoint``,
    ``savefig``, ...). It is ``partial<suffix>`` inside a private folder named by
    :func:`temp_name` beside ``target``, so no glob for the target's name or suffix matches
    it, at any depth. A writer that needs a suffix passes it: MindSpore's
    ``save_checkpoint`` appends ``.ckpt`` to a name without one (and writes its own
    ``partial.tmp`` next to it). On an exception the folder is removed and ``target`` is left
    as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.parent / temp_name(target.name, ".tmp")
    folder.mkdir(mode=0o700)
    temporary = folder / f"partial{suffix}"
    try:
        yield temporary
        os.chmod(temporary, FILE_MODE)  # some writers make 0600 or 0400 files
        os.replace(temporary, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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

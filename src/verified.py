"""Verified markers: remember that a cached file matched its sha256, so it is not re-hashed.

Re-hashing a multi-gigabyte checkpoint on every load is slow, and trusting a cached file
blindly lets corruption through. A marker ``<asset>.verified.json`` records the file's full
sha256 together with its stat stamp (size, inode, mtime_ns, ctime_ns). While the stamp is
unchanged the recorded digest stands; any rewrite, replacement or ``touch`` changes the stamp
(ctime cannot be set back by ``os.utime``), and the file is hashed again.

Limit: a same-size rewrite within one tick of the file system's clock after the marker was
written (a few milliseconds on some kernels) keeps the stamp. Pass ``force`` to
:func:`.cache.fetch_asset` to download afresh regardless.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

from .atomic import write_text
from .hashing import digest_matches, sha256_file

MARKER_SUFFIX = ".verified.json"


def marker_path(path: Path) -> Path:
    """Where the marker of ``path`` lives: beside it, with :data:`MARKER_SUFFIX` appended."""
    return path.with_name(path.name + MARKER_SUFFIX)


def marker_vouches(path: Path, expected_sha256: str) -> bool:
    """Whether the marker alone shows ``path`` to match ``expected_sha256`` (no hashing).

    Raises:
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits.
    """
    recorded = recorded_sha256(path)
    return recorded is not None and digest_matches(expected_sha256, recorded)


def recorded_sha256(path: Path) -> Optional[str]:
    """The full digest the marker records for ``path``, if the file is unchanged since."""
    stamp = _stamp(path)
    recorded = _read_marker(path)
    if stamp is None or recorded is None or recorded.get("stamp") != stamp:
        return None
    digest = recorded.get("sha256")
    return digest if isinstance(digest, str) else None


def verify(path: Path, expected_sha256: str) -> bool:
    """Whether ``path`` matches ``expected_sha256``: by its marker, or else by hashing it.

    A file that hashes correctly gets a fresh marker, unless it changed while being hashed.

    Raises:
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits.
        OSError: the file or its folder cannot be read, or the marker cannot be written.
    """
    if marker_vouches(path, expected_sha256):
        return True
    before = _stamp(path)
    if before is None:
        return False
    actual = sha256_file(path)
    if _stamp(path) != before or not digest_matches(expected_sha256, actual):
        return False
    record(path, actual)
    return True


def record(path: Path, sha256: str) -> None:
    """Write the marker of ``path``, whose full digest the caller has just computed.

    Written to a temp file and moved into place, so readers see an old marker or a new one.

    Raises:
        OSError: the marker cannot be written.
    """
    stamp = _stamp(path)
    if stamp is None:
        raise FileNotFoundError(path)
    write_text(marker_path(path), json.dumps({"sha256": sha256, "stamp": stamp}))


def forget(path: Path) -> None:
    """Remove ``path`` and its marker, whichever exist.

    Raises:
        OSError: a file exists but cannot be removed.
    """
    path.unlink(missing_ok=True)
    marker_path(path).unlink(missing_ok=True)


def _stamp(path: Path) -> Optional[Dict[str, int]]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return {"size": stat.st_size, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns,
            "ctime_ns": stat.st_ctime_ns}


def _read_marker(path: Path) -> Optional[dict]:
    try:
        data = json.loads(marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

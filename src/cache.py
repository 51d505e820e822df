"""The local hub cache: safe paths, per-asset locks, offline mode, and verified fetching.

The layout is the MindSpore Hub client's, so an existing ``~/.mscache`` keeps working::

    <root>/<user>/<version>/<card>.md               the model card
    <root>/<user>/<version>/<asset file>            e.g. ghostnet_ascend_v150_....ckpt
    <root>/<user>/<version>/<asset file>.lock       cross-process lock (kept; see _asset_lock)
    <root>/<user>/<version>/<asset file>.verified.json   the verified marker (below)

and, for a card with a 4-part uid, ``<root>/<user>/<device>/<version>/...`` likewise.

Every path part comes from a card or a URL, so each is checked before use: user, version and
card names are single plain path parts that resolve inside the root, and the asset's file
name is the URL's last path part, percent-decoded, with a known weights suffix. All of it is
checked before any network access.

The root is what :func:`set_hub_dir` set in this process, else ``MSHUB_CACHE_DIR``
(``~/.mscache``, as the real client).

Verified markers: re-hashing a multi-gigabyte checkpoint on every load is slow, and trusting
a cached file blindly lets corruption through. A marker ``<asset>.verified.json`` records the
file's full sha256 together with its stat stamp (size, inode, mtime_ns, ctime_ns). While the
stamp is unchanged the recorded digest stands; any rewrite, replacement or ``touch`` changes
the stamp (ctime cannot be set back by ``os.utime``), and the file is hashed again. Limit: a
same-size rewrite within one tick of the file system's clock after the marker was written (a
few milliseconds on some kernels) keeps the stamp; ``force`` downloads afresh regardless.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Union
from urllib.parse import unquote, urlsplit

from .atomic import exclusive_lock, remove_stale_temps, try_exclusive_lock, write_text
from .download import DEFAULT_BACKOFF_S, digest_matches, download, normalize_sha256, sha256_file
from .errors import CachePathError, OfflineError, UnsafeAssetNameError
from .settings import get_settings

ASSET_SUFFIXES = (".ckpt", ".mindir", ".onnx", ".safetensors")
"""File name suffixes an asset may have: the weights and model formats the hub serves."""
LOCK_SUFFIX = ".lock"
MAX_NAME_BYTES = 200
"""Longest user, version, card or asset file name (UTF-8 bytes). File systems allow 255 per
name; the cache adds ``.md``, ``.lock`` or ``.verified.json``, and a temporary adds
``.<pid>.<random>.incomplete`` and a leading dot (at most 29 bytes)."""
MARKER_SUFFIX = ".verified.json"

_hub_dir_override: Optional[Path] = None


def get_hub_dir() -> Path:
    """The cache root: what :func:`set_hub_dir` set, else ``MSHUB_CACHE_DIR`` (``~/.mscache``).

    Raises:
        SettingsError: no override, and the environment is invalid.
    """
    return _hub_dir_override if _hub_dir_override is not None else get_settings().cache_dir


def set_hub_dir(path: Union[str, Path, None]) -> None:
    """Use ``path`` as the cache root from now on in this process (None: back to the setting)."""
    global _hub_dir_override
    _hub_dir_override = None if path is None else Path(path).expanduser()


@dataclass(frozen=True)
class CachedFile:
    """A cached asset that matched its expected sha256, and its full digest."""

    path: Path
    sha256: str


def cache_folder(
    user: str, version: str, *, root: Optional[Path] = None, device: Optional[str] = None
) -> Path:
    """``<root>/<user>/[<device>/]<version>``, the folder of one card and its asset (not
    created here).

    Args:
        user: the hub user, e.g. ``mindspore``.
        version: the hub version folder, e.g. ``1.5``.
        root: the cache root; ``None`` means :func:`get_hub_dir`.
        device: the device part of a 4-part uid (``gpu`` in ``noah-cvlab/gpu/1.0/...``).

    Raises:
        CachePathError: a part is empty, hidden, absolute, holds a separator or ``..``, or
            the folder resolves outside the root (through a symlink, say).
        SettingsError: ``root`` is ``None`` and the environment is invalid.
    """
    root = Path(get_hub_dir() if root is None else root)
    folder = root / _plain_part(user)
    if device is not None:
        folder = folder / _plain_part(device)
    folder = folder / _plain_part(version)
    if not folder.resolve().is_relative_to(root.resolve()):
        raise CachePathError(str(folder), f"resolves outside the cache root {root}")
    return folder


def card_path(
    user: str, version: str, card: str, *, root: Optional[Path] = None, device: Optional[str] = None
) -> Path:
    """``<root>/<user>/[<device>/]<version>/<card>.md``, where a card is cached.

    Raises:
        CachePathError: a part could escape the cache root (see :func:`cache_folder`).
        SettingsError: ``root`` is ``None`` and the environment is invalid.
    """
    return cache_folder(user, version, root=root, device=device) / f"{_plain_part(card)}.md"


def safe_asset_name(url: str) -> str:
    """The cache file name of the asset at ``url``: its last path part, percent-decoded.

    Raises:
        UnsafeAssetNameError: the name is empty or hidden, holds a separator, ``..`` or a
            control character, lacks one of :data:`ASSET_SUFFIXES`, or is longer than
            :data:`MAX_NAME_BYTES`.
    """
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name or name.startswith("."):
        raise UnsafeAssetNameError(url, f"empty or hidden file name {name!r}")
    if _too_long(name):
        raise UnsafeAssetNameError(
            url,
            f"file name of {len(name.encode('utf-8', 'replace'))} bytes; at most {MAX_NAME_BYTES}",
        )
    if ".." in name or any(char in name for char in "/\\") or not name.isprintable():
        raise UnsafeAssetNameError(url, f"{name!r} holds '..', a separator or a control character")
    if not name.lower().endswith(ASSET_SUFFIXES):
        raise UnsafeAssetNameError(
            url, f"{name!r} does not end in one of {', '.join(ASSET_SUFFIXES)}"
        )
    return name


def asset_url(url: str, mirror: Optional[str]) -> str:
    """Where to fetch the asset linked as ``url``: ``<mirror>/<last path part of url>``, or
    ``url`` itself without a mirror. The last part is kept percent-encoded as linked."""
    if not mirror:
        return url
    return f"{mirror.rstrip('/')}/{urlsplit(url).path.rsplit('/', 1)[-1]}"


def fetch_asset(
    url: str,
    folder: Path,
    expected_sha256: str,
    *,
    offline: Optional[bool] = None,
    mirror: Optional[str] = None,
    force: bool = False,
    max_bytes: Optional[int] = None,
    connect_timeout: Optional[float] = None,
    read_timeout: Optional[float] = None,
    max_retries: Optional[int] = None,
    backoff_s: float = DEFAULT_BACKOFF_S,
    progress: bool = True,
    quiet: bool = False,
) -> CachedFile:
    """The asset linked as ``url``, cached in ``folder`` and verified against its sha256.

    A cached file is used when its verified marker vouches for it or it hashes correctly;
    otherwise it is removed and downloaded again. A per-asset file lock makes concurrent
    processes download once: the others wait, then find the file cached and verified.
    Offline, no socket is ever opened. The full digest comes back with the path, so no
    caller hashes the file again.

    Args:
        url: the card's asset link.
        folder: the card's cache folder, from :func:`cache_folder`.
        expected_sha256: 64 hex digits, or a prefix of 8 to 63 (the card layer warns).
        offline: never download; ``None`` means ``MSHUB_OFFLINE``.
        mirror: base URL to fetch from instead; ``None`` means ``MSHUB_ASSET_MIRROR``, and
            ``""`` means no mirror whatever the environment says. The sha256 still applies.
        force: download again even if a verified copy is cached.
        max_bytes, connect_timeout, read_timeout, max_retries, backoff_s, progress, quiet:
            passed to :func:`.download.download`.

    Raises:
        UnsafeAssetNameError: the link's file name is unsafe (checked before anything else).
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits.
        OfflineError: offline, and no verified copy is cached (or ``force`` was given).
        DownloadError: the download failed; its subclasses tell how (see
            :func:`.download.download`), :class:`.errors.IntegrityError` included.
        SettingsError: a setting that was needed is invalid in the environment.
        OSError: the cache folder cannot be written.
    """
    name = safe_asset_name(url)
    expected = normalize_sha256(expected_sha256)
    if offline is None:
        offline = get_settings().offline
    if mirror is None:
        mirror = get_settings().asset_mirror
    dest = Path(folder) / name

    recorded = None if force else vouched_sha256(dest, expected)
    if recorded is not None:
        return CachedFile(dest, recorded)
    if offline and (force or not dest.is_file()):
        reason = "to be downloaded again (force)" if force else "not in the cache"
        raise OfflineError(name, str(dest), reason)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _asset_lock(dest):
        remove_stale_temps(dest.parent)  # e.g. the .incomplete of a download killed -9
        digest = None if force else verify(dest, expected)
        if digest is not None:
            return CachedFile(dest, digest)
        had_copy = dest.exists()
        forget(dest)
        if offline:
            reason = (
                "cached but failed its sha256 check (removed)" if had_copy else "not in the cache"
            )
            raise OfflineError(name, str(dest), reason)
        result = download(
            asset_url(url, mirror),
            dest,
            expected_sha256=expected,
            max_bytes=max_bytes,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            backoff_s=backoff_s,
            progress=progress,
            quiet=quiet,
        )
        record_marker(dest, result.sha256)
    return CachedFile(dest, result.sha256)


def _plain_part(part: str) -> str:
    """``part`` if it is one plain, visible path component of at most :data:`MAX_NAME_BYTES`;
    refuses anything else."""
    if (
        not part
        or part.startswith(".")
        or os.path.isabs(part)
        or any(char in part for char in "/\\\0")
        or ".." in part
    ):
        raise CachePathError(
            part, "must be one plain path part: not empty or hidden, no separators, no '..'"
        )
    if _too_long(part):
        raise CachePathError(
            part[:40] + "...",
            f"{len(part.encode('utf-8', 'replace'))} bytes long; at most {MAX_NAME_BYTES}",
        )
    return part


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8", "replace")) > MAX_NAME_BYTES


@contextmanager
def _asset_lock(asset: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<asset>.lock`` (Linux and macOS) while in the block.

    The lock file is never deleted: removing it while another process waits on it would let
    a third process lock a new file and run alongside. Waiting has no timeout of its own;
    the holder's download is bounded by its timeouts and retries.
    """
    with exclusive_lock(asset.with_name(asset.name + LOCK_SUFFIX)):
        yield


@contextmanager
def try_asset_lock(asset: Path) -> Iterator[bool]:
    """Try :func:`_asset_lock`'s lock without waiting: True in the block when it is held
    (nobody is downloading ``asset``), False when another process holds it."""
    with try_exclusive_lock(asset.with_name(asset.name + LOCK_SUFFIX)) as held:
        yield held


# --- verified markers ------------------------------------------------------------------------


def marker_path(path: Path) -> Path:
    """Where the marker of ``path`` lives: beside it, with :data:`MARKER_SUFFIX` appended."""
    return path.with_name(path.name + MARKER_SUFFIX)


def recorded_sha256(path: Path) -> Optional[str]:
    """The full digest the marker records for ``path``, if the file is unchanged since."""
    stamp = _stamp(path)
    recorded = _read_marker(path)
    if stamp is None or recorded is None or recorded.get("stamp") != stamp:
        return None
    digest = recorded.get("sha256")
    return digest if isinstance(digest, str) else None


def vouched_sha256(path: Path, expected_sha256: str) -> Optional[str]:
    """The full digest of ``path`` when its marker alone shows it to match
    ``expected_sha256`` (no hashing), else None.

    Raises:
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits.
    """
    recorded = recorded_sha256(path)
    if recorded is None or not digest_matches(expected_sha256, recorded):
        return None
    return recorded


def verify(path: Path, expected_sha256: str) -> Optional[str]:
    """The full digest of ``path`` if it matches ``expected_sha256`` (by its marker, or else
    by hashing it), else None. A file that hashes correctly gets a fresh marker, unless it
    changed while being hashed.

    Raises:
        ValueError: ``expected_sha256`` is not 8 to 64 hex digits.
        OSError: the file or its folder cannot be read, or the marker cannot be written.
    """
    vouched = vouched_sha256(path, expected_sha256)
    if vouched is not None:
        return vouched
    before = _stamp(path)
    if before is None:
        return None
    actual = sha256_file(path)
    if _stamp(path) != before or not digest_matches(expected_sha256, actual):
        return None
    record_marker(path, actual)
    return actual


def record_marker(path: Path, sha256: str) -> None:
    """Write the marker of ``path``, whose full digest the caller has just computed.

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
    return {
        "size": stat.st_size,
        "inode": stat.st_ino,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
    }


def _read_marker(path: Path) -> Optional[Dict[str, object]]:
    try:
        data = json.loads(marker_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

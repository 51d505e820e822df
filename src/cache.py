"""The local hub cache: safe paths, per-asset locks, offline mode, and verified fetching.

The layout is the MindSpore Hub client's, so an existing ``~/.mscache`` keeps working::

    <root>/<user>/<version>/<card>.md               the model card
    <root>/<user>/<version>/<asset file>            e.g. ghostnet_ascend_v150_....ckpt
    <root>/<user>/<version>/<asset file>.lock       cross-process lock (kept; see _asset_lock)
    <root>/<user>/<version>/<asset file>.verified.json   see :mod:`.verified`

and, for a card with a 4-part uid, ``<root>/<user>/<device>/<version>/...`` likewise.

Every path part comes from a card or a URL, so each is checked before use: user, version and
card names are single plain path parts that resolve inside the root, and the asset's file
name is the URL's last path part, percent-decoded, with a known weights suffix. All of it is
checked before any network access.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import unquote, urlsplit

from . import verified
from .download import DEFAULT_BACKOFF_S, download
from .errors import CachePathError, OfflineError, UnsafeAssetNameError
from .hashing import normalize_sha256
from .settings import get_settings

ASSET_SUFFIXES = (".ckpt", ".mindir", ".onnx", ".safetensors")
"""File name suffixes an asset may have: the weights and model formats the hub serves."""
LOCK_SUFFIX = ".lock"


def cache_folder(user: str, version: str, *, root: Optional[Path] = None,
                 device: Optional[str] = None) -> Path:
    """``<root>/<user>/[<device>/]<version>``, the folder of one card and its asset (not
    created here).

    Args:
        user: the hub user, e.g. ``mindspore``.
        version: the hub version folder, e.g. ``1.5``.
        root: the cache root; ``None`` means ``MSHUB_CACHE_DIR``.
        device: the device part of a 4-part uid (``gpu`` in ``noah-cvlab/gpu/1.0/...``).

    Raises:
        CachePathError: a part is empty, hidden, absolute, holds a separator or ``..``, or
            the folder resolves outside the root (through a symlink, say).
        SettingsError: ``root`` is ``None`` and the environment is invalid.
    """
    root = Path(get_settings().cache_dir if root is None else root)
    folder = root / _plain_part(user)
    if device is not None:
        folder = folder / _plain_part(device)
    folder = folder / _plain_part(version)
    if not folder.resolve().is_relative_to(root.resolve()):
        raise CachePathError(str(folder), f"resolves outside the cache root {root}")
    return folder


def card_path(user: str, version: str, card: str, *, root: Optional[Path] = None,
              device: Optional[str] = None) -> Path:
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
            control character, or lacks one of :data:`ASSET_SUFFIXES`.
    """
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name or name.startswith("."):
        raise UnsafeAssetNameError(url, f"empty or hidden file name {name!r}")
    if ".." in name or any(char in name for char in "/\\") or not name.isprintable():
        raise UnsafeAssetNameError(url, f"{name!r} holds '..', a separator or a control character")
    if not name.lower().endswith(ASSET_SUFFIXES):
        raise UnsafeAssetNameError(url, f"{name!r} does not end in one of "
                                        f"{', '.join(ASSET_SUFFIXES)}")
    return name


def asset_url(url: str, mirror: Optional[str]) -> str:
    """Where to fetch the asset linked as ``url``: ``<mirror>/<last path part of url>``, or
    ``url`` itself without a mirror. The last part is kept percent-encoded as linked."""
    if not mirror:
        return url
    return f"{mirror.rstrip('/')}/{urlsplit(url).path.rsplit('/', 1)[-1]}"


def fetch_asset(url: str, folder: Path, expected_sha256: str, *,
                offline: Optional[bool] = None,
                mirror: Optional[str] = None,
                force: bool = False,
                max_bytes: Optional[int] = None,
                connect_timeout: Optional[float] = None,
                read_timeout: Optional[float] = None,
                max_retries: Optional[int] = None,
                backoff_s: float = DEFAULT_BACKOFF_S,
                progress: bool = True,
                quiet: bool = False) -> Path:
    """The path of the asset linked as ``url`` in ``folder``, verified against its sha256.

    A cached file is used when its verified marker vouches for it or it hashes correctly;
    otherwise it is removed and downloaded again. A per-asset file lock makes concurrent
    processes download once: the others wait, then find the file cached and verified.
    Offline, no socket is ever opened.

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

    if not force and verified.marker_vouches(dest, expected):
        return dest
    if offline and (force or not dest.is_file()):
        reason = "to be downloaded again (force)" if force else "not in the cache"
        raise OfflineError(name, str(dest), reason)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _asset_lock(dest):
        if not force and verified.verify(dest, expected):
            return dest
        had_copy = dest.exists()
        verified.forget(dest)
        if offline:
            reason = "cached but failed its sha256 check (removed)" if had_copy \
                else "not in the cache"
            raise OfflineError(name, str(dest), reason)
        result = download(asset_url(url, mirror), dest, expected_sha256=expected,
                          max_bytes=max_bytes, connect_timeout=connect_timeout,
                          read_timeout=read_timeout, max_retries=max_retries,
                          backoff_s=backoff_s, progress=progress, quiet=quiet)
        verified.record(dest, result.sha256)
    return dest


def _plain_part(part: str) -> str:
    """``part`` if it is one plain, visible path component; refuses anything else."""
    if not part or part.startswith(".") or os.path.isabs(part) \
            or any(char in part for char in "/\\\0") or ".." in part:
        raise CachePathError(part, "must be one plain path part: not empty or hidden, "
                                   "no separators, no '..'")
    return part


@contextmanager
def _asset_lock(asset: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<asset>.lock`` (Linux and macOS) while in the block.

    The lock file is never deleted: removing it while another process waits on it would let
    a third process lock a new file and run alongside. Waiting has no timeout of its own;
    the holder's download is bounded by its timeouts and retries.
    """
    fd = os.open(asset.with_name(asset.name + LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)

"""``ghostnet cache list`` / ``clean``: what the hub cache holds, and removing parts of it.

As ``huggingface-cli scan-cache`` and ``delete-cache`` do for theirs. An entry is one card
with the assets it links (and their verified markers), the ONNX exports of ``predict``, or
asset files that no card in their folder links. Removing an entry never touches a file
another process is downloading: each asset is removed under its lock, taken without waiting
(a held lock skips the asset and says so). Lock files themselves are kept, as in
:mod:`.cache`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .cache import ASSET_SUFFIXES, marker_path, recorded_sha256, safe_asset_name, try_asset_lock
from .card import load_card
from .errors import CacheCleanError, CardError, GhostnetHubError, SettingsError
from .export import EXPORTS_DIRNAME

EXPORT_SUFFIX = ".ort.onnx"
"""The suffix of ``predict``'s ONNX exports (with a ``.json`` sidecar each)."""
EXPORTS_ENTRY = "(exports)"
"""The name of the entry holding ``predict``'s ONNX exports."""
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class CacheEntry:
    """One card and its files (or the exports, or unlinked assets) in the cache."""

    name: str
    """The card's uid; :data:`EXPORTS_ENTRY`; or ``<folder> (no card)``."""
    files: Tuple[Path, ...]
    assets: Tuple[Path, ...]
    """The weights files among :attr:`files` (removed under their lock)."""
    size: int
    verified: Optional[bool]
    """Every asset unchanged since its sha256 was verified; None without assets."""
    last_used: float
    """Latest access or modification time of its assets (seconds since the epoch): the
    files a load reads and a scan does not (a scan reads cards and markers, which would
    make every listing a use)."""


def scan_cache(root: Path) -> List[CacheEntry]:
    """Every entry of the cache at ``root``, by name; none when ``root`` does not exist.

    Raises:
        SettingsError: ``root`` exists and is not a folder.
    """
    entries: List[CacheEntry] = []
    if not root.is_dir():
        if root.exists():
            raise SettingsError(
                f"the hub cache {root} is not a folder: set MSHUB_CACHE_DIR to a folder"
            )
        return entries
    linked: set = set()
    for card in sorted(root.glob("*/*/*.md")) + sorted(root.glob("*/*/*/*.md")):
        uid = "/".join(card.relative_to(root).with_suffix("").parts)
        assets = _linked_assets(card)
        linked.update(assets)
        entries.append(_entry(uid, (card,), assets))
    for folder in sorted(
        {
            path.parent
            for path in root.rglob("*")
            if path.suffix in ASSET_SUFFIXES
            and path.is_file()
            and not any(
                part.startswith(".")  # a download's temp folder
                for part in path.relative_to(root).parts
            )
        }
    ):
        if folder.name == EXPORTS_DIRNAME and folder.parent == root:
            continue
        loose = tuple(
            path
            for path in sorted(folder.iterdir())
            if path.suffix in ASSET_SUFFIXES
            and path.is_file()
            and path not in linked
            and not path.name.endswith(EXPORT_SUFFIX)
        )
        if loose:
            entries.append(_entry(f"{folder.relative_to(root)} (no card)", (), loose))
    exports = tuple(sorted((root / EXPORTS_DIRNAME).glob("*"))) + tuple(
        sorted(root.glob(f"*/*/*{EXPORT_SUFFIX}"))
    )
    files = tuple(path for path in exports if path.is_file())
    files += tuple(
        sidecar
        for path in files
        if path.name.endswith(EXPORT_SUFFIX)
        for sidecar in [path.with_name(path.name[: -len(EXPORT_SUFFIX)] + ".json")]
        if sidecar.is_file() and sidecar not in files
    )
    if files:
        entries.append(CacheEntry(EXPORTS_ENTRY, files, (), _size(files), None, _last_used(files)))
    return sorted(entries, key=lambda entry: entry.name)


def _linked_assets(card: Path) -> Tuple[Path, ...]:
    try:
        links = [asset.link for asset in load_card(card).assets]
    except CardError:
        return ()
    found = []
    for link in links:
        try:
            path = card.parent / safe_asset_name(link)
        except GhostnetHubError:
            continue
        if path.is_file():
            found.append(path)
    return tuple(found)


def _entry(name: str, own: Tuple[Path, ...], assets: Tuple[Path, ...]) -> CacheEntry:
    markers = tuple(marker_path(a) for a in assets if marker_path(a).is_file())
    files = own + assets + markers
    verified = all(recorded_sha256(a) is not None for a in assets) if assets else None
    used = _last_used(assets) if assets else max((p.stat().st_mtime for p in own), default=0.0)
    return CacheEntry(name, files, assets, _size(files), verified, used)


def _size(files: Sequence[Path]) -> int:
    return sum(path.stat().st_size for path in files if path.exists())


def _last_used(files: Sequence[Path]) -> float:
    times = [max(p.stat().st_atime, p.stat().st_mtime) for p in files if p.exists()]
    return max(times, default=0.0)


def select(
    entries: Sequence[CacheEntry],
    *,
    names: Sequence[str] = (),
    older_than_days: Optional[float] = None,
    exports: bool = False,
    everything: bool = False,
    now: Optional[float] = None,
) -> List[CacheEntry]:
    """The entries a clean removes: those named (by uid, case-insensitive), those unused
    for more than ``older_than_days``, the exports, or all of them.

    Raises:
        CacheCleanError: a name that is no entry of the cache.
    """
    if everything:
        return list(entries)
    wanted = {name.lower() for name in names}
    unknown = wanted - {entry.name.lower() for entry in entries}
    if unknown:
        raise CacheCleanError(
            f"not in the cache: {', '.join(sorted(unknown))} (see ghostnet cache list)"
        )
    now = time.time() if now is None else now
    chosen = []
    for entry in entries:
        old = (
            older_than_days is not None
            and now - entry.last_used > older_than_days * SECONDS_PER_DAY
        )
        if entry.name.lower() in wanted or old or (exports and entry.name == EXPORTS_ENTRY):
            chosen.append(entry)
    return chosen


def remove(entry: CacheEntry) -> Tuple[int, List[Path]]:
    """Delete ``entry``'s files; (bytes freed, assets skipped because a download holds their
    lock). A skipped asset keeps its marker and its card, so it stays usable."""
    freed, skipped = 0, []
    for asset in entry.assets:
        with try_asset_lock(asset) as held:
            if not held:
                skipped.append(asset)
                continue
            for path in (asset, marker_path(asset)):
                freed += _unlink(path)
    if not skipped:  # the card (or the exports) go once no asset of theirs is in use
        for path in entry.files:
            freed += _unlink(path)
    return freed, skipped


def _unlink(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size

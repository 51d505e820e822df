"""From a name to a verified checkpoint on disk: card resolution plus asset fetching.

This is the part of the hub client that :mod:`.factory` needs for ``pretrained=True`` or a
uid, kept apart from :mod:`.hub` (which builds networks through the factory) so that the
two do not import each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

from . import verified
from .cache import cache_folder, fetch_asset, safe_asset_name
from .card import CardAsset, ModelCard, load_card
from .errors import CardError
from .hashing import sha256_file
from .index import CardLocation, IndexEntry, fetch_card, index_for, is_url, list_index, locate
from .settings import get_settings

_hub_dir_override: Optional[Path] = None


def get_hub_dir() -> Path:
    """The cache root: what :func:`set_hub_dir` set, else ``MSHUB_CACHE_DIR`` (``~/.mscache``)."""
    return _hub_dir_override if _hub_dir_override is not None else get_settings().cache_dir


def set_hub_dir(path: Union[str, Path, None]) -> None:
    """Use ``path`` as the cache root from now on in this process (None: back to the setting)."""
    global _hub_dir_override
    _hub_dir_override = None if path is None else Path(path).expanduser()


@dataclass(frozen=True)
class FetchedModel:
    """A card and its checkpoint, verified against the card's sha256, in the cache."""

    card: ModelCard
    card_path: Path
    checkpoint: Path
    sha256: str
    """Full sha256 hex digest of :attr:`checkpoint`."""


@dataclass(frozen=True)
class ResolvedCard:
    """A validated card, where it is cached, and the cache folder its asset belongs in."""

    card: ModelCard
    card_path: Path
    folder: Path


def resolve_card(name: str, *, source: Optional[str] = None, force_reload: bool = False,
                 offline: Optional[bool] = None, index: Optional[str] = None) -> ResolvedCard:
    """Find, fetch (or read from the cache) and validate the card called ``name``.

    Raises:
        HubNameError: ``name`` or ``source`` is not understood, or names no card.
        CardError: the card breaks the hub's schema.
        OfflineError: offline, and the card is not cached.
        DownloadError: the card cannot be fetched.
    """
    settings = get_settings()
    offline = settings.offline if offline is None else offline
    root = get_hub_dir()
    if source == "local" or (not is_url(name) and Path(name).expanduser().is_file()):
        path = Path(name).expanduser().resolve()
        card = load_card(path)
        return ResolvedCard(card, path, cache_folder(card.user_id.lower(), card.model_version,
                                                     root=root))
    where = index_for(source, settings.index if index is None else index)
    location: CardLocation = locate(name, index=where, offline=offline, root=root)
    card, path = fetch_card(location, root=root, offline=offline, force_reload=force_reload)
    return ResolvedCard(card, path, path.parent)


def checkpoint_asset(card: ModelCard) -> CardAsset:
    """The card's ``ckpt`` asset that the hub's client restores from: the last one listed.

    Raises:
        CardError: the card has no ckpt asset.
    """
    for asset in reversed(card.assets):
        if asset.file_format == "ckpt":
            return asset
    raise CardError(card.source, "the card has no ckpt asset to restore weights from",
                    field="asset")


def fetch(name: str, *, source: Optional[str] = None, force_reload: bool = False,
          quiet: bool = False, offline: Optional[bool] = None, index: Optional[str] = None,
          mirror: Optional[str] = None) -> FetchedModel:
    """The card called ``name`` and its checkpoint, downloaded or cached, and verified.

    Args:
        name: a uid ``user/version/card``, a short uid ``user/model-name``, a card URL, or a
            local card path.
        source: ``None`` (``MSHUB_INDEX``), ``'gitee'``/``'github'`` (the public hub), or
            ``'local'`` (``name`` is a card path), as the real client.
        force_reload: fetch the card and the checkpoint again even if cached.
        quiet: no progress bar.
        offline, index, mirror: override ``MSHUB_OFFLINE``, ``MSHUB_INDEX`` and
            ``MSHUB_ASSET_MIRROR`` for this call.

    Raises:
        HubNameError, CardError, OfflineError, DownloadError, IntegrityError,
        UnsafeAssetNameError: see :func:`resolve_card` and :func:`.cache.fetch_asset`.
    """
    resolved = resolve_card(name, source=source, force_reload=force_reload, offline=offline,
                            index=index)
    asset = checkpoint_asset(resolved.card)
    checkpoint = fetch_asset(asset.link, resolved.folder, asset.sha256, offline=offline,
                             mirror=mirror, force=force_reload, progress=not quiet, quiet=quiet)
    sha256 = verified.recorded_sha256(checkpoint) or sha256_file(checkpoint)
    return FetchedModel(resolved.card, resolved.card_path, checkpoint, sha256)


def cached_checkpoint(resolved: ResolvedCard) -> Tuple[Path, bool]:
    """Where the card's checkpoint is (or would be) cached, and whether it is there verified.

    Raises:
        CardError: the card has no ckpt asset.
        UnsafeAssetNameError: the asset link's file name is unsafe.
    """
    asset = checkpoint_asset(resolved.card)
    path = resolved.folder / safe_asset_name(asset.link)
    return path, path.is_file() and verified.verify(path, asset.sha256)


def list_cards(*, source: Optional[str] = None, index: Optional[str] = None,
               offline: Optional[bool] = None) -> List[IndexEntry]:
    """Every card the index offers (offline: the cards in the cache), with its uid and
    ``model-name``, sorted by uid. Reads names only: no card is fetched or validated.

    Raises:
        MissingListingError: an http(s) index without ``index.json``.
        OfflineError / DownloadError: an http(s) index's ``index.json`` cannot be had.
        CardError: that listing is malformed.
    """
    settings = get_settings()
    where = index_for(source, settings.index if index is None else index)
    entries = list_index(where, root=get_hub_dir(),
                         offline=settings.offline if offline is None else offline)
    return sorted(entries, key=lambda entry: entry.uid)

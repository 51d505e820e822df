"""Where model cards come from: turn a name into a card file in the cache, and list an index.

An index is a tree of cards laid out as the MindSpore Hub's ``mshub_res/assets``:
``<index>/<user>/<version>/<card>.md``. It is a local folder or an http(s) base URL
(``MSHUB_INDEX``; ``source='gitee'|'github'`` picks the public hub's tree). A folder lists
itself; an http(s) index lists its cards in ``<index>/index.json``, which ``ghostnet
publish`` keeps up to date: ``{"cards": [{"uid": "user/version/card", "model-name": "..."}]}``.
An http(s) index without one (the public hub's tree) resolves short uids through the
cards the caller knows of (``known``: the module's published weights).

Names, as the real client and beyond:
- ``user/version/card``: a uid, read from the index;
- ``user/model-name``: the newest version in the index whose card has that ``model-name``;
- ``http(s)://.../user/version/card.md``: a card URL (gitee/github ``blob`` links work too);
- a path to a local card (or any name with ``source='local'``).

Cards fetched over the network are cached at ``<cache>/<user>/<version>/<card>.md`` and
reused until ``force_reload``; offline, only the cache is read and no socket is opened.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlsplit

from .atomic import write_bytes, write_text
from .cache import card_path
from .card import ModelCard, load_card
from .download import download
from .errors import CardError, HTTPStatusError, HubNameError, OfflineError

PUBLIC_INDEXES: Dict[str, str] = {
    "gitee": "https://gitee.com/mindspore/hub/raw/master/mshub_res/assets",
    "github": "https://github.com/mindspore-ai/hub/raw/master/mshub_res/assets",
}
"""The public hub's card trees, by the ``source`` names the real client accepts."""
SOURCES = (*PUBLIC_INDEXES, "local")
INDEX_FILE = "index.json"
CARD_MAX_BYTES = 1024 * 1024
"""Cards are small text files; anything larger is not a card."""
_HTTP = ("http://", "https://")
_BLOB = re.compile(r"^(https://(?:gitee|github)\.com/[^/]+/[^/]+)/blob/")


@dataclass(frozen=True)
class CardLocation:
    """A card: its uid parts, and where its text is (a URL or a local path)."""

    user: str
    version: str
    card: str
    origin: str
    """http(s) URL or local file path of the card's text."""

    @property
    def uid(self) -> str:
        """``user/version/card``, the hub's name of the card."""
        return f"{self.user}/{self.version}/{self.card}"


@dataclass(frozen=True)
class IndexEntry:
    """One card offered by an index."""

    uid: str
    model_name: str


def is_url(name: str) -> bool:
    """Whether ``name`` is an http(s) URL."""
    return name.lower().startswith(_HTTP)


def index_for(source: Optional[str], index: str) -> str:
    """The index to resolve uids in: the public tree for ``gitee``/``github``, else ``index``.

    Raises:
        HubNameError: ``source`` is not one of :data:`SOURCES` (or None).
    """
    if source is None or source == "local":
        return index
    if source not in PUBLIC_INDEXES:
        raise HubNameError(source, f"unknown source; use one of {', '.join(SOURCES)}")
    return PUBLIC_INDEXES[source]


def locate(name: str, *, index: str, offline: bool, root: Path,
           known: Sequence[IndexEntry] = ()) -> CardLocation:
    """Where the card called ``name`` is (uid, short uid or URL; not a local card path).

    ``known`` lists cards to resolve short uids with when an http(s) index has no
    ``index.json``.

    Raises:
        HubNameError: ``name`` has none of the accepted forms, or no card in the index has
            that short uid.
        OfflineError / DownloadError: a short uid needs the index's list, which is not
            cached (offline) or cannot be fetched.
    """
    if is_url(name):
        return _location_from_url(name)
    parts = name.strip("/").split("/")
    if len(parts) == 3 and all(parts):
        user, version, card = parts
        return CardLocation(user, version, card, _join(index, f"{user}/{version}/{card}.md"))
    if len(parts) == 2 and all(parts):
        return _newest(parts[0].lower(), parts[1].lower(), index=index, offline=offline,
                       root=root, known=known)
    raise HubNameError(name, "expected a uid 'user/version/card', a short uid "
                             "'user/model-name', a card URL or a card file path")


def fetch_card(location: CardLocation, *, root: Path, offline: bool,
               force_reload: bool) -> Tuple[ModelCard, Path]:
    """The validated card at ``location`` and its path in the cache.

    A card from a local index is read afresh each time (and copied into the cache for later
    offline use); one from an http(s) index is downloaded once and reused from the cache
    until ``force_reload``.

    Raises:
        CardError: the card breaks the hub's schema (names the file and the field).
        OfflineError: offline and the card is not cached.
        DownloadError: the card cannot be fetched (names the URL).
        CachePathError: a uid part could escape the cache.
    """
    cached = card_path(location.user, location.version, location.card, root=root)
    if not is_url(location.origin):
        source = Path(location.origin)
        if not source.is_file():
            raise HubNameError(location.uid, f"no card at {source}")
        card = load_card(source)
        write_bytes(cached, source.read_bytes())
        return card, cached
    if force_reload or not cached.is_file():
        if offline:
            raise OfflineError(f"{location.uid}.md", str(cached))
        download(location.origin, cached, expected_sha256=None, max_bytes=CARD_MAX_BYTES,
                 progress=False)
    return load_card(cached), cached


def list_index(index: str, *, root: Path, offline: bool) -> List[IndexEntry]:
    """Every card the index offers; offline, every card in the cache.

    Raises:
        OfflineError / DownloadError: an http(s) index's list cannot be had.
        CardError: the index's ``index.json`` is malformed.
    """
    if offline:
        return _list_folder(root)
    if not is_url(index):
        return _list_folder(Path(index))
    listing = root / ".index" / f"{secrets.token_hex(4)}.{os.getpid()}.json"
    try:
        download(_join(index, INDEX_FILE), listing, expected_sha256=None,
                 max_bytes=CARD_MAX_BYTES, progress=False)
        return _parse_listing(listing.read_text(encoding="utf-8"), _join(index, INDEX_FILE))
    finally:
        listing.unlink(missing_ok=True)


def write_listing(index: Path) -> Path:
    """(Re)write ``<index>/index.json`` from the cards in the folder, atomically.

    Raises:
        OSError: the index folder cannot be written.
    """
    entries = [{"uid": entry.uid, "model-name": entry.model_name} for entry in _list_folder(index)]
    target = index / INDEX_FILE
    write_text(target, json.dumps({"cards": entries}, indent=2) + "\n")
    return target


def newest_first(entries: Sequence[IndexEntry]) -> List[IndexEntry]:
    """``entries`` ordered newest version first (versions compared number by number)."""
    return sorted(entries, key=lambda entry: _version_key(entry.uid.split("/")[1]), reverse=True)


def _newest(user: str, model_name: str, *, index: str, offline: bool, root: Path,
            known: Sequence[IndexEntry]) -> CardLocation:
    try:
        entries = list_index(index, root=root, offline=offline)
    except HTTPStatusError as error:
        if error.status != 404:
            raise
        entries = list(known)  # an index without index.json, like the public hub's tree
    matches = [entry for entry in entries
               if entry.uid.split("/")[0].lower() == user
               and entry.model_name.lower() == model_name]
    if not matches:
        where = f"the cache {root}" if offline else f"the index {index}"
        raise HubNameError(f"{user}/{model_name}", f"no card with model-name {model_name!r} "
                                                    f"by user {user!r} in {where}")
    return locate(newest_first(matches)[0].uid, index=index, offline=offline, root=root)


def _location_from_url(url: str) -> CardLocation:
    url = _BLOB.sub(r"\1/raw/", url)
    parts = [unquote(part) for part in urlsplit(url).path.split("/") if part]
    if len(parts) < 3 or not parts[-1].endswith(".md"):
        raise HubNameError(url, "a card URL ends in '<user>/<version>/<card>.md'")
    return CardLocation(parts[-3], parts[-2], parts[-1][:-len(".md")], url)


def _list_folder(folder: Path) -> List[IndexEntry]:
    entries = []
    for path in sorted(folder.glob("*/*/*.md")):
        try:
            card = load_card(path)
        except CardError:
            continue  # a broken card in a folder hides nothing else; `validate` reports it
        user, version = path.parent.parent.name, path.parent.name
        entries.append(IndexEntry(f"{user}/{version}/{path.stem}", card.model_name))
    return entries


def _parse_listing(text: str, source: str) -> List[IndexEntry]:
    try:
        cards = json.loads(text)["cards"]
        return [IndexEntry(str(card["uid"]), str(card["model-name"])) for card in cards]
    except (ValueError, KeyError, TypeError) as error:
        raise CardError(source, f"not a card listing ({error!r})", field="cards") from error


def _version_key(version: str) -> Tuple[Tuple[int, object], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"[.\-]", version))


def _join(index: str, relative: str) -> str:
    if is_url(index):
        return f"{index.rstrip('/')}/{relative}"
    return str(Path(index) / relative)


"""Where model cards come from: turn a name into a card file in the cache, and list an index.

An index is a tree of cards laid out as the MindSpore Hub's ``mshub_res/assets``:
``<index>/<user>/<version>/<card>.md`` and ``<index>/<user>/<device>/<version>/<card>.md``.
It is a local folder or an http(s) base URL (``MSHUB_INDEX``; ``source='gitee'|'github'``
picks the public hub's tree). A folder lists itself; an http(s) index lists its cards in
``<index>/index.json``, which ``ghostnet publish`` keeps up to date:
``{"cards": [{"uid": "user/version/card", "model-name": "..."}]}``. An http(s) index
without one (the public hub's tree) cannot be listed, so short uids are an error there
(:class:`~.errors.MissingListingError`), never a guess.

Listing reads each card's ``model-name`` line from its header and nothing else: no card is
parsed or validated, so a listing is fast and warns about nothing; the one card that is
loaded is validated when it is fetched.

Names, as the real client and beyond:
- ``user/version/card`` or ``user/device/version/card``: a uid, read from the index;
- ``user/model-name``: a short uid, resolved by :func:`.uid.newest_first`;
- ``http(s)://.../user/version/card.md``: a card URL (gitee/github ``blob`` links work too);
- a path to a local card (or any name with ``source='local'``).

A Chinese twin (``<card>_cn``) stands for its English card (``<card>``), as in the hub's
validator (:func:`.hub_rules.english_twin`): its header is not meant to be read.

Cards fetched over the network are validated, then cached at
``<cache>/<user>/<version>/<card>.md`` and reused until ``force_reload``; offline, only the
cache is read and no socket is opened. What comes from a server is parsed with bounded size
and depth (:mod:`.untrusted`); a malformed ``index.json`` entry is skipped and reported, and a
card from a server may link only http(s) assets.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote, unquote, urlsplit

from .atomic import remove_stale_temps, temp_name, write_bytes, write_text
from .cache import card_path
from .card import ModelCard, load_card, parse_card
from .download import download
from .errors import CardError, HTTPStatusError, HubNameError, MissingListingError, OfflineError
from .hub_rules import english_twin
from .uid import SHAPES, Uid, is_uid, newest_first, parse_uid, uid_from_parts
from .untrusted import load_json

PUBLIC_INDEXES: Dict[str, str] = {
    "gitee": "https://gitee.com/mindspore/hub/raw/master/mshub_res/assets",
    "github": "https://github.com/mindspore-ai/hub/raw/master/mshub_res/assets",
}
"""The public hub's card trees, by the ``source`` names the real client accepts."""
SOURCES = (*PUBLIC_INDEXES, "local")
INDEX_FILE = "index.json"
CARD_MAX_BYTES = 1024 * 1024
"""Cards are small text files; anything larger is not a card."""
HEADER_SCAN_BYTES = 16 * 1024
"""How far a listing reads into a card for its ``model-name`` line (headers are ~1 KB)."""
NOT_CARDS = ("README.md", "README.en.md", "README_CN.md")
"""Markdown files in a card tree that are not cards (the hub's validator skips them too)."""
MODEL_NAME_FIELD = "model-name"
ASSETS_DIR = "assets"
_HTTP = ("http://", "https://")
_UID_PART = re.compile(r"[^/.\\\s][^/\\\s]*")
"""A plain path part of a uid: not empty, not hidden, no separator or space."""
_BLOB = re.compile(r"^(https://(?:gitee|github)\.com/[^/]+/[^/]+)/blob/")


class SkippedEntryWarning(UserWarning):
    """An entry of an ``index.json`` that a listing left out because it is malformed."""


@dataclass(frozen=True)
class CardLocation:
    """A card: its uid parts, and where its text is (a URL or a local path)."""

    parts: Uid
    origin: str
    """http(s) URL or local file path of the card's text."""

    @property
    def uid(self) -> str:
        """``user/[device/]version/card``, the hub's name of the card."""
        return self.parts.text


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


def locate(name: str, *, index: str, offline: bool, root: Path) -> CardLocation:
    """Where the card called ``name`` is (uid, short uid or URL; not a local card path).

    Raises:
        HubNameError: ``name`` has none of the accepted forms, or no card in the index has
            that short uid.
        OfflineError / DownloadError: a short uid needs the index's list, which is not
            cached (offline) or cannot be fetched.
    """
    if is_url(name):
        return _location_from_url(name, index)
    if is_uid(name):
        return _at(parse_uid(name), index)
    parts = name.strip("/").split("/")
    if len(parts) == 2 and all(parts):
        return _newest(parts[0].lower(), parts[1].lower(), index=index, offline=offline, root=root)
    raise HubNameError(
        name,
        f"expected a uid {SHAPES}, a short uid 'user/model-name', a card URL or a card file path",
    )


def fetch_card(
    location: CardLocation, *, root: Path, offline: bool, force_reload: bool
) -> Tuple[ModelCard, Path]:
    """The validated card at ``location`` and its path in the cache.

    A card from a local index is read afresh each time (and copied into the cache for later
    offline use); one from an http(s) index is downloaded once, validated before it is
    cached, and reused from the cache until ``force_reload`` (a cached copy that no longer
    validates is fetched again). A card from an http(s) index may not link a ``file:``
    asset.

    Raises:
        CardError: the card breaks the hub's schema (names the file and the field).
        OfflineError: offline and the card is not cached.
        DownloadError: the card cannot be fetched (names the URL).
        CachePathError: a uid part could escape the cache.
    """
    uid = location.parts
    cached = card_path(uid.user, uid.version, uid.card, root=root, device=uid.device)
    if not is_url(location.origin):
        source = Path(location.origin)
        if not source.is_file():
            raise HubNameError(location.uid, f"no card at {source}")
        card = load_card(source)
        write_bytes(cached, source.read_bytes())
        return card, cached
    if not force_reload and cached.is_file():
        try:
            return _remote_card(load_card(cached), location.origin), cached
        except CardError:
            if offline:
                raise
            # a copy cached before it was validated (older versions did that): fetch again
    if offline:
        raise OfflineError(f"{location.uid}.md", str(cached))
    text = _fetch_text(location.origin, root)
    card = _remote_card(parse_card(text, str(cached)), location.origin)
    remove_stale_temps(cached.parent)
    write_text(cached, text)  # only a card that validates is ever cached
    return card, cached


def list_index(index: str, *, root: Path, offline: bool) -> List[IndexEntry]:
    """Every card the index offers; offline, every card in the cache.

    Raises:
        MissingListingError: an http(s) index without ``index.json``.
        HubNameError: a folder index that does not exist.
        OfflineError / DownloadError: an http(s) index's list cannot be had.
        CardError: the index's ``index.json`` is not JSON (or over the parser's bounds), or
            has no ``cards`` list.
    Warns:
        SkippedEntryWarning: a malformed entry of ``index.json`` was left out (the rest is
            listed).
    """
    if offline:
        return _list_folder(root)
    if not is_url(index):
        if not Path(index).is_dir():
            raise HubNameError(
                index,
                "no such index folder (an index is a folder of "
                "user/version/card.md files, or an http(s) URL)",
            )
        return _list_folder(Path(index))
    url = _join(index, INDEX_FILE)
    try:
        text = _fetch_text(url, root)
    except HTTPStatusError as error:
        if error.status == 404:
            raise MissingListingError(index, url) from error
        raise
    return _parse_listing(text, url)


def write_listing(index: Path) -> Path:
    """(Re)write ``<index>/index.json`` from the cards in the folder, atomically (left alone
    when it already says the same).

    Raises:
        OSError: the index folder cannot be written.
    """
    entries = [{"uid": entry.uid, "model-name": entry.model_name} for entry in _list_folder(index)]
    target = index / INDEX_FILE
    text = json.dumps({"cards": entries}, indent=2) + "\n"
    if not (target.is_file() and target.read_bytes() == text.encode("utf-8")):
        write_text(target, text)
    return target


def short_uid_matches(
    entries: Sequence[IndexEntry], user: str, model_name: str
) -> List[IndexEntry]:
    """The entries a short uid ``user/model-name`` could mean (case-insensitive), best first
    by :func:`.uid.newest_first`."""
    matches = {
        entry.uid: entry
        for entry in entries
        if entry.uid.split("/")[0].lower() == user.lower()
        and entry.model_name.lower() == model_name.lower()
    }
    return [matches[uid] for uid in newest_first(matches)]


def _newest(user: str, model_name: str, *, index: str, offline: bool, root: Path) -> CardLocation:
    matches = short_uid_matches(list_index(index, root=root, offline=offline), user, model_name)
    if not matches:
        where = f"the cache {root}" if offline else f"the index {index}"
        raise HubNameError(
            f"{user}/{model_name}",
            f"no card with model-name {model_name!r} by user {user!r} in {where}",
        )
    return locate(matches[0].uid, index=index, offline=offline, root=root)


def _at(uid: Uid, index: str) -> CardLocation:
    """The location of ``uid`` in ``index``; a Chinese twin's is its English card's."""
    twin = english_twin(uid.card)
    if twin is not None:
        uid = Uid(uid.user, uid.version, twin, uid.device)
    return CardLocation(uid, _join(index, f"{'/'.join(uid.parts)}.md"))


def _location_from_url(url: str, index: str) -> CardLocation:
    """A card URL's uid: its path below ``index`` when the URL is in it, else below the last
    ``assets`` folder (the hub's tree), else its last three parts."""
    url = _BLOB.sub(r"\1/raw/", url)
    base = index.rstrip("/") + "/"
    in_index = is_url(index) and url.startswith(base)
    path = url[len(base) :] if in_index else urlsplit(url).path
    parts = [unquote(part) for part in path.split("/") if part]
    if not parts or not parts[-1].endswith(".md"):
        raise HubNameError(url, "a card URL ends in '<user>/[<device>/]<version>/<card>.md'")
    if not in_index:
        below_assets = len(parts) - parts[::-1].index(ASSETS_DIR) if ASSETS_DIR in parts else 0
        parts = parts[below_assets:] if below_assets else parts[-3:]
    parts[-1] = parts[-1][: -len(".md")]
    uid = uid_from_parts(parts, url)
    twin = english_twin(uid.card)
    if twin is None:
        return CardLocation(uid, url)
    return CardLocation(
        Uid(uid.user, uid.version, twin, uid.device), f"{url.rsplit('/', 1)[0]}/{quote(twin)}.md"
    )


def _fetch_text(url: str, root: Path) -> str:
    """The text at ``url`` (a card or a listing), downloaded into the cache's private
    ``.index`` folder and read back; nothing of it stays on disk.

    Raises:
        DownloadError, OfflineError: see :func:`.download.download`.
        CardError: the text is not UTF-8.
    """
    remove_stale_temps(root / ".index")
    scratch = root / ".index" / temp_name("fetched", ".download")
    try:
        download(url, scratch, expected_sha256=None, max_bytes=CARD_MAX_BYTES, progress=False)
        return scratch.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CardError(url, f"not UTF-8 text: {error.reason}") from error
    finally:
        scratch.unlink(missing_ok=True)


def _remote_card(card: ModelCard, origin: str) -> ModelCard:
    """``card``, checked for what a card from a server may not do: link a local file.

    Raises:
        CardError: an asset link is a ``file:`` URL.
    """
    for asset in card.assets:
        if not is_url(asset.link):
            raise CardError(
                origin,
                f"{asset.link!r}: a card served over the network may "
                "only link http(s) assets, never a local file",
                field="asset-link",
            )
    return card


def _list_folder(folder: Path) -> List[IndexEntry]:
    """Every card in a folder tree, with the ``model-name`` its header declares ("" if none),
    read without parsing the card."""
    entries = []
    for parts, path in _card_files(folder):
        entries.append(IndexEntry("/".join(parts), _model_name_of(path)))
    return sorted(entries, key=lambda entry: entry.uid)


def _card_files(folder: Path) -> List[Tuple[List[str], str]]:
    """(uid parts, path) of every ``.md`` two or three folders below ``folder`` (hidden
    folders and READMEs left out). Plain strings, not Paths: a listing makes thousands."""
    found: List[Tuple[List[str], str]] = []
    pending: List[Tuple[List[str], str]] = [([], str(folder))]
    while pending:
        parts, here = pending.pop()
        try:
            children = list(os.scandir(here))
        except OSError:
            continue
        for child in children:
            if child.name.startswith("."):
                continue
            if len(parts) < 3 and child.is_dir(follow_symlinks=False):
                pending.append((parts + [child.name], child.path))
            elif (
                len(parts) in (2, 3)
                and child.name.endswith(".md")
                and child.name not in NOT_CARDS
                and child.is_file()
            ):
                found.append((parts + [child.name[: -len(".md")]], child.path))
    return found


def _model_name_of(path: str) -> str:
    """The ``model-name`` value in a card's header, from the file's first
    :data:`HEADER_SCAN_BYTES` (one read); "" when there is none or it cannot be read."""
    try:
        with open(path, "rb") as file:
            head = file.read(HEADER_SCAN_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
    prefix = MODEL_NAME_FIELD + ":"
    inside = False
    for line in head.splitlines():
        if line.startswith("---"):
            if inside:
                break
            inside = True
        elif inside and line.startswith(prefix):
            return _plain_value(line[len(prefix) :])
    return ""


def _plain_value(text: str) -> str:
    """A one-line YAML scalar's text: a trailing comment and matching quotes removed."""
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].strip()


def _parse_listing(text: str, source: str) -> List[IndexEntry]:
    """The entries of an ``index.json``; an entry that is not a uid of plain parts and a
    model-name is skipped with a :class:`SkippedEntryWarning` naming it.

    Raises:
        CardError: the text is not JSON (or too large or deep), or has no ``cards`` list.
    """
    listing = load_json(text, source)
    cards = listing.get("cards") if isinstance(listing, dict) else None
    if not isinstance(cards, list):
        raise CardError(source, 'not a card listing: expected {"cards": [...]}', field="cards")
    entries = []
    for number, card in enumerate(cards, start=1):
        uid = card.get("uid") if isinstance(card, dict) else None
        name = card.get("model-name") if isinstance(card, dict) else None
        if not (
            isinstance(uid, str)
            and isinstance(name, str)
            and name
            and is_uid(uid)
            and all(_UID_PART.fullmatch(part) for part in uid.strip("/").split("/"))
        ):
            warnings.warn(
                f"skipped entry {number} of {source}: expected a uid {SHAPES} and a model-name",
                SkippedEntryWarning,
                stacklevel=2,
            )
            continue
        entries.append(IndexEntry(uid, name))
    return entries


def _join(index: str, relative: str) -> str:
    if is_url(index):
        return f"{index.rstrip('/')}/{relative}"
    return str(Path(index) / relative)

"""Place this module where the real ``mindspore_hub`` client looks for a card's network code.

The public hub's GhostNet cards point their ``repo-link`` at the model zoo's
``research/cv/ghostnet`` folder, which has no ``mindspore_hub_conf.py``, so the real
``mindspore_hub.load("mindspore/1.5/ghostnet_imagenet2012")`` fails. The client's cache can
be filled instead: this module installs itself there, and the client then builds this
network and restores the card's checkpoint.

What the real client does, as read in mindspore-ai/hub, ``mindspore_hub/load.py`` at commit
141c8271c0e38910b84ec662a2613eef804e910e (the version with 3- and 4-part uids and
``force_reload=False`` by default), and what each step asks of this module:

- ``manage.py``: the hub dir is ``os.path.abspath(os.path.expanduser(CACHE_DIR))`` with
  ``CACHE_DIR = '~/.mscache'`` unless ``set_hub_dir`` changed it. Here: ``--hub-dir``,
  default :func:`.cache.get_hub_dir` (``MSHUB_CACHE_DIR``, ``~/.mscache``).
- ``load``: ``target_path = os.path.dirname(os.path.join(hub_dir, uid))``, that is
  ``<hub_dir>/<user>/[<device>/]<version>``; ``_get_md_from_uid`` (lines 71-76) takes 3 or 4
  parts and names the card ``<last part>.md``.
- ``_get_md_file`` (lines 53-68): ``md_path = os.path.join(cache_path, name)``, downloaded only
  ``if force_reload or (not os.path.isfile(md_path))``. So a card written there is read as
  it is, with no network: :func:`install_card` writes it when it is not there yet.
- ``load``: ``basename = os.path.basename(info.repo_link).strip("<>")`` and
  ``net_dir = os.path.join(target_path, basename)``; the repository is downloaded only
  ``if force_reload or (not os.path.isdir(net_dir))``. So a folder there (a symlink to a
  folder counts: ``isdir`` follows it) is used as it is: the module goes at
  ``<target_path>/<basename of repo-link>/`` (:func:`repo_folder_name`).
- ``_get_network_from_cache`` (lines 85-109): ``sys.path.insert(0, path)``, then
  ``spec_from_file_location(HUB_CONFIG_FILE, config_path)`` with
  ``HUB_CONFIG_FILE = 'mindspore_hub_conf.py'``, ``exec_module``, and
  ``func(name.lower(), *args, **kwargs)`` where ``name`` is the card's ``model-name``. So the
  folder holds ``mindspore_hub_conf.py`` and ``hub_conf.py`` (the repository's own two files,
  :data:`CONF_FILES`) and ``src/``: a symlink to this installed package, or a copy of it.
- ``load_weights``: with ``force_reload=False``, ``ckpt_name =
  os.path.basename(download_url.split("/")[-1])`` of the first asset's link
  (``cell.asset[cell.asset_id]``, ``asset_id = 0`` in ``info.py``), and ``ckpt_path =
  os.path.join(target_path, ckpt_name)``; a file there is loaded without any check, and
  only a missing one is downloaded by ``_download_file_from_url`` (``_utils/download.py``),
  which compares the downloaded file's sha256 with the card's. Then ``load_checkpoint`` and
  ``load_param_into_net``. So :func:`check_card` reports the checkpoint at that path and
  whether its sha256 is the card's: a wrong file there would be restored silently.

With ``force_reload=True`` the real client downloads the card and the repository again and
replaces what is installed here; the default (False) keeps it.

What the client checks beyond the hub's schema: ``CellInfo(md_path)`` (``info.py``) runs
the client's own card check on every load, ``ValidMarkdown.check_markdown_file``
(``_utils/check.py`` at 7a1d6d64470f02c7a88c7c654d0365829bcb4b26). It requires
``input-shape`` and ``infer-backend``, which none of the official ``mindspore/1.x`` cards
have (the noah-cvlab cards do), so the client refuses those cards as the hub serves them.
The card placed in the cache therefore gets the missing fields, added at the end of its
header under a comment that says why (:func:`client_card`); everything else stays byte for
byte. A card already cached is amended the same way, its original kept beside it
(:data:`ORIGINAL_SUFFIX`) and put back by :func:`remove_card`. What no cache can change: the
check also opens the repo-link and every asset link, after checking them against
``_utils/whitelist.py`` (``download.mindspore.cn``, ``gitee.com/mindspore/mindspore``,
``github.com/mindspore-ai/mindspore``; ``gitee.com/mindspore/models`` is not on it);
:func:`check_card` reports what it would refuse (:func:`client_notes`).

The folder is ours when it holds :data:`MARKER`, a JSON record of what was installed, from
where, by which version of this module, for which cards, and what it displaced; nothing
else is touched without ``force``, and what ``force`` replaces is moved aside and put back
by :func:`remove_card`. A folder is built under a hidden temporary name and renamed into
place, so the client never sees a half-built one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import yaml

from . import __version__
from .atomic import remove_stale_temps, temp_name, write_bytes, write_text
from .cache import cache_folder, verify
from .card import CLIENT_REQUIRED_FIELDS, ModelCard, load_card, parse_card, shape_text
from .card_facts import card_facts
from .errors import GhostnetHubError, HubInstallError, OfflineError
from .index import fetch_card, is_url, locate
from .registry import ASSETS_DIR, base_record, variant_key
from .uid import Uid, parse_uid
from .untrusted import compose_yaml

MARKER = ".ghostnet-hub-install.json"
"""The file in an installed folder that records what this module put there."""
MARKER_MAX_BYTES = 64 * 1024
TOOL = "ghostnet-hub hub-install"
HUB_CONF_FILE = "mindspore_hub_conf.py"
PACKAGE_LINK = "src"
"""The name the package has in the folder: the conf files import ``src.factory``."""
PACKAGE_DIR = Path(__file__).resolve().parent
"""This installed package (``ghostnet_hub``, or ``src`` in a checkout): what is linked or
copied."""
MODES = ("symlink", "copy")
CLIENT_INFER_BACKEND = "cpu"
"""The ``infer-backend`` added to a card that lacks it: the device this module is tested on."""
CLIENT_FIELDS_NOTE = (
    "# added by ghostnet hub-install: the mindspore_hub client's card check requires these"
)
ORIGINAL_SUFFIX = ".before-ghostnet-hub"
"""A cached card that :func:`install_card` amended is kept as ``.<card>.md`` + this."""
CLIENT_ALLOWED_LINKS = (
    "https://download.mindspore.cn",
    "https://gitee.com/mindspore/mindspore",
    "https://github.com/mindspore-ai/mindspore",
)
"""The client's host allow-list (``whitelist.py`` at 22cb7b594a90e3fccf6e9f4edab408c3bb86fa42)."""

HUB_CONF_TEXT = '''\
"""MindSpore Hub entry of the GhostNet module: ``create_network(name, *args, **kwargs)``.

The MindSpore Hub client puts this directory on ``sys.path`` and calls
``create_network(model_name.lower(), *args, **kwargs)``; ``mindspore_hub_conf.py`` re-exports
this under the file name the client imports. Model names and their descriptions::

    ghostnet        GhostNet 1.0x with SE (the published ImageNet model)
    ghostnet_nose   GhostNet 1.0x without squeeze-and-excitation
    ghostnet_050    GhostNet 0.5x with SE
    ghostnet_130    GhostNet 1.3x with SE
    ghostnet_600    GhostNet-600 of the model zoo (also ``ghostnet-600``, the hub card's name)

``list_models()`` returns the same, from the network's own variant table. ``pretrained``
takes the model zoo's, mindcv's and timm's checkpoints (see ``src/foreign.py``).
"""

import os
import sys

_MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
if _MODULE_DIR not in sys.path:  # executed by file path, from another working directory
    sys.path.insert(0, _MODULE_DIR)

from src.factory import MODEL_NAMES, create_network, list_models  # noqa: E402

__all__ = ["MODEL_NAMES", "create_network", "list_models"]
'''
MINDSPORE_HUB_CONF_TEXT = '''\
"""The file the MindSpore Hub client imports by path: the same entry as ``hub_conf.py``."""

import os
import sys

_MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
if _MODULE_DIR not in sys.path:  # executed by file path, from another working directory
    sys.path.insert(0, _MODULE_DIR)

from hub_conf import MODEL_NAMES, create_network, list_models  # noqa: E402

__all__ = ["MODEL_NAMES", "create_network", "list_models"]
'''
CONF_FILES: Dict[str, str] = {"hub_conf.py": HUB_CONF_TEXT, HUB_CONF_FILE: MINDSPORE_HUB_CONF_TEXT}
"""The repository root's two entry files, placed beside ``src/`` (a test checks that they
are the repository's, byte for byte: an installed wheel has no repository root to copy)."""
PLACED = (*CONF_FILES, PACKAGE_LINK)


@dataclass(frozen=True)
class HubCard:
    """A card of the public hub that this module can build."""

    uid: str
    folder: str
    """The basename of the card's ``repo-link``: the folder the real client imports from."""
    model_name: str
    """As the card writes it; the client passes it lowercased to ``create_network``."""
    bundled: Optional[str] = None
    """A file in ``assets/`` that holds the card, so it installs offline."""


PUBLIC_CARDS: Tuple[HubCard, ...] = (
    HubCard("mindspore/1.3/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("mindspore/1.5/ghostnet_imagenet2012", "ghostnet", "ghostnet", bundled="ghostnet.md"),
    HubCard("mindspore/1.6/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("mindspore/1.7/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("mindspore/1.8/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("mindspore/1.9/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("mindspore/1.10/ghostnet_imagenet2012", "ghostnet", "ghostnet"),
    HubCard("noah-cvlab/gpu/1.0/ghostnet_v1.0_oxford_pets", "ghostnet", "GhostNet"),
    HubCard("noah-cvlab/gpu/1.0/ghostnet-600_v1.0_oxford_pets", "ghostnet", "GhostNet-600"),
)
"""The public hub's GhostNet cards this module builds: the default of ``ghostnet
hub-install``. Read from mindspore-ai/hub ``mshub_res/assets`` (1.6 and 1.7 at commits
6aef2b43 and b6a6bcdf; the others are in ``tests/data/hub_cards``). Each ``model_name``
must be a variant (a test checks it), so a card is added here once its network is. The
GhostNet-600 card shares its folder (``ghostnet``) with the 1x pets card; ``ghostnet-600``
is an alias of the ``ghostnet_600`` variant. The mindcv cards (``mindspore/2.3`` and ``2.5``
``ghostnet_050_imagenet2012``) are not here: the real client restores a checkpoint with its
own ``load_param_into_net``, by name, and theirs hold mindcv's names; this module's
``hub.load`` renames them (``src/foreign.py``)."""


@dataclass(frozen=True)
class Placement:
    """Where the real client looks for one card: the card file and the module folder."""

    uid: Uid
    target: Path
    """``<hub_dir>/<user>/[<device>/]<version>``."""
    card_file: Path
    net_dir: Path


@dataclass
class Record:
    """The content of :data:`MARKER`."""

    mode: str
    package: str
    version: str
    cards: Dict[str, Optional[str]] = field(default_factory=dict)
    """uid -> sha256 of the card file this module wrote for it (None: the card was there)."""
    displaced: Optional[str] = None
    """Name, in the target folder, of what ``force`` moved aside to make room."""
    created: List[str] = field(default_factory=list)
    """Folders below the hub dir created for this folder, relative, outermost first."""

    def to_json(self) -> str:
        """The marker's text."""
        return (
            json.dumps(
                {
                    "tool": TOOL,
                    "version": self.version,
                    "mode": self.mode,
                    "package": self.package,
                    "placed": list(PLACED),
                    "cards": self.cards,
                    "displaced": self.displaced,
                    "created": self.created,
                },
                indent=2,
            )
            + "\n"
        )


@dataclass(frozen=True)
class Finding:
    """One thing :func:`check_card` looked at: ok or not, and what it saw."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class CardCheck:
    """Whether the real client would find the conf, the card and a verified checkpoint."""

    uid: str
    conf: Finding
    card: Finding
    checkpoint: Finding
    checkpoint_cached: bool
    client_notes: Tuple[str, ...] = ()
    """What the client's own card check would refuse (see :func:`client_notes`)."""

    @property
    def ready(self) -> bool:
        """Everything this module controls is in place: conf and card found, and no wrong
        checkpoint in the way (a missing one is downloaded and checked by the client on
        first load). :attr:`client_notes` are beyond it."""
        return self.conf.ok and self.card.ok and (self.checkpoint.ok or not self.checkpoint_cached)


def default_uids() -> List[str]:
    """The uids of :data:`PUBLIC_CARDS`."""
    return [card.uid for card in PUBLIC_CARDS]


def repo_folder_name(card: ModelCard) -> str:
    """The folder the real client imports the card's network from:
    ``os.path.basename(repo_link).strip("<>")``, as its ``load`` computes it.

    Raises:
        HubInstallError: that name is empty or not a plain folder name (a ``repo-link``
            ending in ``/`` makes the client look in the version folder itself).
    """
    name = os.path.basename(card.repo_link).strip("<>")
    if not name or name.startswith(".") or name in ("..",) or "\\" in name:
        raise HubInstallError(
            f"{card.source}: repo-link {card.repo_link!r} gives the folder "
            f"name {name!r}, which the real client cannot use"
        )
    return name


def placement(uid: Uid, hub_dir: Path, card: ModelCard) -> Placement:
    """Where the real client reads ``card`` (named ``uid``) and imports its network from.

    Raises:
        CachePathError: a uid part could escape the hub dir.
        HubInstallError: see :func:`repo_folder_name`.
    """
    target = cache_folder(uid.user, uid.version, root=hub_dir, device=uid.device)
    return Placement(uid, target, target / f"{uid.card}.md", target / repo_folder_name(card))


# --- install ---------------------------------------------------------------------------------


def install_card(
    name: str,
    *,
    hub_dir: Path,
    index: str,
    offline: bool,
    copy: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> List[str]:
    """Make the real client's ``load(name)`` build this module's network.

    Writes the card at ``<target>/<card>.md`` unless a card is already there, with the
    fields the client's own check requires added when it lacks them (:func:`client_card`;
    a cached card so amended is kept first at :func:`original_card`); places
    ``mindspore_hub_conf.py``, ``hub_conf.py`` and ``src`` (a symlink to this package, or a
    copy with ``copy``) in the folder the card's ``repo-link`` names, with :data:`MARKER`.
    Running it again changes nothing unless the mode, the package or its version changed.

    Returns:
        What was done (or, with ``dry_run``, what would be), one line each.

    Raises:
        HubNameError: ``name`` is not a 3- or 4-part uid.
        UnknownModelError: the card's model-name is not a variant this module builds.
        HubInstallError: the folder is taken by something else and ``force`` is off, or the
            card disagrees with :data:`PUBLIC_CARDS`.
        CardError, OfflineError, DownloadError: the card cannot be had or is invalid.
    """
    uid = parse_uid(name)
    hub_dir = Path(hub_dir).expanduser().absolute()
    card, card_bytes, cached = _card_for(uid, hub_dir, index=index, offline=offline)
    variant_key(card.model_name)
    where = placement(uid, hub_dir, card)
    _check_known(uid, card, where)
    missing = missing_client_fields(card_bytes)
    amended = client_card(card_bytes, card, missing)
    written = amended if amended is not None else (None if cached else card_bytes)
    card_sha = None if written is None else hashlib.sha256(written).hexdigest()
    mode = MODES[1] if copy else MODES[0]
    done = _place(where, hub_dir, mode, force=force, dry_run=dry_run, card_sha=card_sha)
    if written is None:
        return done
    verb = "would " if dry_run else ""
    original = original_card(where.card_file)
    if not dry_run:  # the card it replaces, if cached, is the one --remove puts back
        if cached:
            write_bytes(original, card_bytes)
        else:
            original.unlink(missing_ok=True)
    if cached:
        done.append(f"{verb}keep the cached card as it was in {original}")
    if not dry_run:
        write_bytes(where.card_file, written)
    added = (
        f", adding {' and '.join(missing)} (the real client's card check requires them)"
        if amended is not None
        else ""
    )
    done.append(f"{verb}write the card {where.card_file}{added}")
    return done


def original_card(card_file: Path) -> Path:
    """Where a cached card that :func:`install_card` amended is kept."""
    return card_file.with_name(f".{card_file.name}{ORIGINAL_SUFFIX}")


def missing_client_fields(card_bytes: bytes) -> List[str]:
    """The fields of :data:`~.card.CLIENT_REQUIRED_FIELDS` that the card's header lacks."""
    keys = _header_keys(card_bytes.decode("utf-8"))
    return [name for name in CLIENT_REQUIRED_FIELDS if name not in keys]


def client_card(card_bytes: bytes, card: ModelCard, missing: List[str]) -> Optional[bytes]:
    """The card with the ``missing`` fields (:func:`missing_client_fields`) added at the end
    of its header, under :data:`CLIENT_FIELDS_NOTE`, each line ending as the header's closing
    line does; None when nothing is missing. The input shape is the crop the card's text
    records, else the architecture's (``[224, 224, 3]``, as the hub's cards write it)."""
    if not missing:
        return None
    crop = (
        card_facts(card.body).crop or base_record(variant_key(card.model_name)).preprocessing.crop
    )
    values = {"input-shape": shape_text((crop, crop, 3)), "infer-backend": CLIENT_INFER_BACKEND}
    lines = card_bytes.decode("utf-8").splitlines(keepends=True)
    closing = [number for number, line in enumerate(lines) if line.startswith("---")][1]
    ending = lines[closing][len(lines[closing].rstrip("\r\n")) :] or "\n"
    added = ["", CLIENT_FIELDS_NOTE] + [f"{name}: {values[name]}" for name in missing] + [""]
    return "".join(lines[:closing] + [line + ending for line in added] + lines[closing:]).encode(
        "utf-8"
    )


def _card_for(
    uid: Uid, hub_dir: Path, *, index: str, offline: bool
) -> Tuple[ModelCard, bytes, bool]:
    """The card the client will read, its bytes, and whether they are cached already: the
    cached card if there is one; else the card shipped with this module; else the index's."""
    cached = cache_folder(uid.user, uid.version, root=hub_dir, device=uid.device) / f"{uid.card}.md"
    if cached.is_file():
        return load_card(cached), cached.read_bytes(), True
    known = _known(uid.text)
    if known is not None and known.bundled is not None:
        data = (ASSETS_DIR / known.bundled).read_bytes()
        return parse_card(data.decode("utf-8"), str(ASSETS_DIR / known.bundled)), data, False
    if offline and is_url(index):
        raise OfflineError(
            f"{uid.text}.md", str(cached), "not in the cache, nor shipped with this module"
        )
    with tempfile.TemporaryDirectory(prefix="ghostnet-hub-card-") as staging:
        location = locate(uid.text, index=index, offline=offline, root=Path(staging))
        card, path = fetch_card(location, root=Path(staging), offline=offline, force_reload=True)
        return card, path.read_bytes(), False


def _known(uid: str) -> Optional[HubCard]:
    return next((card for card in PUBLIC_CARDS if card.uid == uid), None)


def _check_known(uid: Uid, card: ModelCard, where: Placement) -> None:
    """A card of :data:`PUBLIC_CARDS` must still say what the table says."""
    known = _known(uid.text)
    if known is None:
        return
    if (where.net_dir.name, card.model_name) != (known.folder, known.model_name):
        raise HubInstallError(
            f"{card.source}: this card has repo-link folder {where.net_dir.name!r} and "
            f"model-name {card.model_name!r}, but {uid.text} on the public hub has "
            f"{known.folder!r} and {known.model_name!r}; it is not the card this module "
            "knows, so nothing was installed for it"
        )


def _place(
    where: Placement,
    hub_dir: Path,
    mode: str,
    *,
    force: bool,
    dry_run: bool,
    card_sha: Optional[str],
) -> List[str]:
    """Put the module in ``where.net_dir`` (or refresh it), and add the uid to its record."""
    net_dir = where.net_dir
    uid = where.uid.text
    verb = "would " if dry_run else ""
    record = read_record(net_dir)
    source = f"{'symlink to' if mode == 'symlink' else 'copy of'} {PACKAGE_DIR}"
    if record is not None:
        listed = uid in record.cards
        if card_sha is not None:  # a card written now: the one --remove may take away
            record.cards[uid] = card_sha
        if _intact(net_dir, record, mode):
            if not dry_run and (not listed or card_sha is not None):
                write_text(net_dir / MARKER, record.to_json())
            if not listed:
                return [
                    f"{verb}add it to {net_dir}, installed for "
                    f"{', '.join(sorted(set(record.cards) - {uid}))} already"
                ]
            return [f"already installed: {net_dir} ({source}, ghostnet-hub {record.version})"]
        if not dry_run:
            _build(
                net_dir,
                Record(
                    mode,
                    str(PACKAGE_DIR),
                    __version__,
                    record.cards,
                    record.displaced,
                    record.created,
                ),
                replace=True,
            )
        return [
            f"{verb}refresh {net_dir} ({source}, ghostnet-hub {__version__}; it was "
            f"the {record.mode} of ghostnet-hub {record.version} from {record.package})"
        ]
    done = []
    displaced = None
    if os.path.lexists(net_dir):
        what = describe(net_dir)
        if not force:
            raise HubInstallError(
                f"{net_dir} is {what}, not installed by ghostnet hub-install; the real client "
                "would use it as it is. Run with --force to move it aside (--remove puts it "
                "back)"
            )
        displaced = f".{net_dir.name}.displaced-by-ghostnet-hub"
        if os.path.lexists(where.target / displaced):
            raise HubInstallError(
                f"{where.target / displaced} exists already: move it or {net_dir} away by hand"
            )
        done.append(f"{verb}move {what} at {net_dir} aside to {where.target / displaced}")
    created = [] if dry_run else _make_dirs(where.target, hub_dir)
    if not dry_run:
        remove_stale_temps(where.target)  # build folders a killed hub-install left
        if displaced is not None:
            os.rename(net_dir, where.target / displaced)
        _build(
            net_dir,
            Record(mode, str(PACKAGE_DIR), __version__, {uid: card_sha}, displaced, created),
            replace=False,
        )
    done.append(f"{verb}install {net_dir} ({source}, ghostnet-hub {__version__})")
    return done


def _intact(net_dir: Path, record: Record, mode: str) -> bool:
    """Whether the folder already holds what this version would place there."""
    if (record.mode, record.package, record.version) != (mode, str(PACKAGE_DIR), __version__):
        return False
    for name, text in CONF_FILES.items():
        try:
            if (net_dir / name).read_text(encoding="utf-8") != text:
                return False
        except OSError:
            return False
    package = net_dir / PACKAGE_LINK
    if mode == "symlink":
        return package.is_symlink() and Path(os.readlink(package)) == PACKAGE_DIR
    return not package.is_symlink() and (package / "factory.py").is_file()


def _build(net_dir: Path, record: Record, *, replace: bool) -> None:
    """Build the folder under a hidden name beside it, then rename it into place; the old
    one (``replace``) is swapped out and removed only once the new one is in."""
    staging = net_dir.with_name(temp_name(net_dir.name, ".tmp"))
    staging.mkdir()
    try:
        for name, text in CONF_FILES.items():
            (staging / name).write_text(text, encoding="utf-8")
        if record.mode == "symlink":
            os.symlink(PACKAGE_DIR, staging / PACKAGE_LINK, target_is_directory=True)
        else:
            shutil.copytree(
                PACKAGE_DIR,
                staging / PACKAGE_LINK,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        (staging / MARKER).write_text(record.to_json(), encoding="utf-8")
        if replace:
            old = net_dir.with_name(temp_name(net_dir.name, ".tmp"))
            os.rename(net_dir, old)
            os.rename(staging, net_dir)
            shutil.rmtree(old)
        else:
            os.rename(staging, net_dir)
    except OSError as error:
        if os.path.lexists(net_dir) and not replace:
            raise HubInstallError(
                f"{net_dir} appeared while it was being built (another hub-install?); run it again"
            ) from error
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _make_dirs(target: Path, hub_dir: Path) -> List[str]:
    """Create ``target`` and the folders above it below the hub dir; return those created,
    relative to the hub dir, outermost first."""
    parts = target.relative_to(hub_dir).parts
    created = []
    for depth in range(1, len(parts) + 1):
        path = hub_dir.joinpath(*parts[:depth])
        if not path.is_dir():
            path.mkdir(parents=True)
            created.append("/".join(parts[:depth]))
    return created


def describe(path: Path) -> str:
    """What is at ``path``, in words, for a refusal."""
    if path.is_symlink():
        return f"a symlink to {os.readlink(path)}"
    if not path.is_dir():
        return f"a file of {path.stat().st_size} bytes"
    names = sorted(child.name for child in path.iterdir())
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    conf = "its own" if HUB_CONF_FILE in names else "no"
    return f"a folder of {len(names)} entries ({shown}) with {conf} {HUB_CONF_FILE}"


def read_record(net_dir: Path) -> Optional[Record]:
    """The record of a folder this module installed; None when ``net_dir`` is not one (a
    symlink, a file, a folder without a readable marker)."""
    marker = net_dir / MARKER
    if net_dir.is_symlink() or not marker.is_file() or marker.stat().st_size > MARKER_MAX_BYTES:
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        if data.get("tool") != TOOL or data.get("mode") not in MODES:
            return None
        cards = {
            str(uid): (None if sha is None else str(sha))
            for uid, sha in dict(data["cards"]).items()
        }
        displaced = data.get("displaced")
        return Record(
            str(data["mode"]),
            str(data["package"]),
            str(data["version"]),
            cards,
            None if displaced is None else str(displaced),
            [str(folder) for folder in data.get("created", [])],
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


# --- remove ----------------------------------------------------------------------------------


def installed(hub_dir: Path) -> List[str]:
    """The uids installed in ``hub_dir``, from the markers of its folders."""
    hub_dir = Path(hub_dir).expanduser()
    uids: Set[str] = set()
    for pattern in (f"*/*/*/{MARKER}", f"*/*/*/*/{MARKER}"):
        for marker in hub_dir.glob(pattern):
            record = read_record(marker.parent)
            if record is not None:
                uids.update(record.cards)
    return sorted(uids)


def _installed_folder(uid: Uid, hub_dir: Path) -> Optional[Tuple[Path, Record]]:
    """The folder of ours in the uid's target folder whose record lists the uid."""
    target = cache_folder(uid.user, uid.version, root=hub_dir, device=uid.device)
    if not target.is_dir():
        return None
    for child in sorted(target.iterdir()):
        record = read_record(child) if child.is_dir() else None
        if record is not None and uid.text in record.cards:
            return child, record
    return None


def remove_card(name: str, *, hub_dir: Path, dry_run: bool = False) -> List[str]:
    """Undo :func:`install_card` for ``name``: the card file it wrote (if unchanged since),
    and, once no other card uses it, the folder, with what ``force`` moved aside put back
    and the folders it created removed when empty. The checkpoint the client downloaded,
    and anything else not placed by this module, stays.

    Raises:
        HubNameError: ``name`` is not a 3- or 4-part uid.
        OSError: a file cannot be removed.
    """
    uid = parse_uid(name)
    hub_dir = Path(hub_dir).expanduser().absolute()
    found = _installed_folder(uid, hub_dir)
    if found is None:
        return [f"nothing to remove: no folder of ghostnet hub-install lists {uid.text}"]
    net_dir, record = found
    verb = "would " if dry_run else ""
    done = []
    card_file = net_dir.parent / f"{uid.card}.md"
    written = record.cards.pop(uid.text)
    original = original_card(card_file)
    if written is not None and card_file.is_file():
        if hashlib.sha256(card_file.read_bytes()).hexdigest() != written:
            done.append(f"keep the card {card_file}: it changed since it was written")
            if original.is_file():  # what it would have put back is older than that card
                done.append(f"{verb}remove {original}")
                if not dry_run:
                    original.unlink()
        elif original.is_file():
            done.append(f"{verb}put the card cached before back at {card_file}")
            if not dry_run:
                os.replace(original, card_file)
        else:
            done.append(f"{verb}remove the card {card_file}")
            if not dry_run:
                card_file.unlink()
    if record.cards:
        if not dry_run:
            write_text(net_dir / MARKER, record.to_json())
        others = ", ".join(sorted(record.cards))
        return done + [f"keep {net_dir}: it is installed for {others} too"]
    done.append(f"{verb}remove {net_dir}")
    if dry_run:
        if record.displaced:
            done.append(f"would put {net_dir.parent / record.displaced} back at {net_dir}")
        return done
    for name_placed in PLACED:
        path = net_dir / name_placed
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    shutil.rmtree(net_dir / "__pycache__", ignore_errors=True)  # the client's import wrote it
    (net_dir / MARKER).unlink()
    left = sorted(child.name for child in net_dir.iterdir())
    if left:
        done.append(f"keep {net_dir}: it now holds files not placed here ({', '.join(left)})")
    else:
        net_dir.rmdir()
    if record.displaced:
        aside = net_dir.parent / record.displaced
        if os.path.lexists(aside) and not os.path.lexists(net_dir):
            os.rename(aside, net_dir)
            done.append(f"put {aside} back at {net_dir}")
        else:
            done.append(f"could not put {aside} back at {net_dir}: move it by hand")
    for folder in reversed(record.created):
        try:
            (hub_dir / folder).rmdir()
        except OSError:  # not empty: the client or the user keeps files there
            break
    return done


# --- check -----------------------------------------------------------------------------------


def check_card(name: str, *, hub_dir: Path) -> CardCheck:
    """Whether the real client's ``load(name)``, with ``force_reload=False``, would find the
    card, a conf that builds this network, and a checkpoint whose sha256 is the card's. Reads
    only (a checkpoint that hashes correctly gets this module's verified marker).

    Raises:
        HubNameError: ``name`` is not a 3- or 4-part uid.
    """
    uid = parse_uid(name)
    hub_dir = Path(hub_dir).expanduser().absolute()
    target = cache_folder(uid.user, uid.version, root=hub_dir, device=uid.device)
    card_file = target / f"{uid.card}.md"
    missing = Finding(False, "not looked at: no card")
    if not card_file.is_file():
        return CardCheck(
            uid.text,
            missing,
            Finding(False, f"{card_file} missing: the client would download it"),
            missing,
            False,
        )
    try:
        card = load_card(card_file)
        where = placement(uid, hub_dir, card)
    except GhostnetHubError as error:
        return CardCheck(uid.text, missing, Finding(False, str(error)), missing, False)
    card_found = Finding(True, f"{card_file} (model-name {card.model_name})")
    checkpoint, cached = _check_checkpoint(card, target)
    return CardCheck(
        uid.text,
        _check_conf(where, card),
        card_found,
        checkpoint,
        cached,
        tuple(client_notes(card_file, card)),
    )


def _check_conf(where: Placement, card: ModelCard) -> Finding:
    net_dir = where.net_dir
    if not (net_dir / HUB_CONF_FILE).is_file():
        state = describe(net_dir) if os.path.lexists(net_dir) else "missing"
        return Finding(
            False,
            f"{net_dir / HUB_CONF_FILE} missing ({net_dir} is {state}): the "
            "client would download the repo-link, which has none",
        )
    record = read_record(net_dir)
    if record is None:
        return Finding(False, f"{net_dir / HUB_CONF_FILE} is not ours ({describe(net_dir)})")
    if not (net_dir / PACKAGE_LINK / "factory.py").is_file():
        return Finding(
            False,
            f"{net_dir / PACKAGE_LINK} does not lead to this package (was "
            f"{record.package} removed?); run hub-install again",
        )
    try:
        arch = variant_key(card.model_name)
    except GhostnetHubError as error:
        return Finding(False, str(error))
    stale = (
        ""
        if record.version == __version__
        else f"; installed by ghostnet-hub {record.version}, this is {__version__}: run it again"
    )
    how = "symlink to" if record.mode == "symlink" else "copy of"
    return Finding(
        True, f"{net_dir / HUB_CONF_FILE} ({how} {record.package}, builds {arch}{stale})"
    )


def client_asset_id(card: ModelCard) -> int:
    """The asset the client restores: ``check.py`` sets ``asset-id`` to the index of the last
    ``ckpt`` asset, 0 when there is none, and ``CellInfo`` reads it."""
    return max(
        (number for number, asset in enumerate(card.assets) if asset.file_format == "ckpt"),
        default=0,
    )


def client_notes(card_file: Path, card: ModelCard) -> List[str]:
    """What the client's own card check (``_utils/check.py``, ``ValidMarkdown``, run by
    ``CellInfo`` on every load) would refuse in this card, beyond what this module controls:
    the fields it requires beyond the hub's schema, and links outside its host allow-list
    (``_utils/whitelist.py``; compared here by host and path, while the client also accepts
    a host that resolves to an allowed host's address). It also opens every link on each
    load, so the client needs the network even with everything cached."""
    notes = []
    missing = missing_client_fields(card_file.read_bytes())
    if missing:
        notes.append(
            f"its card check requires {' and '.join(missing)}, which {card_file.name} lacks"
        )
    outside = [
        link
        for link in (card.repo_link, *(asset.link for asset in card.assets))
        if not any(link.startswith(allowed + "/") for allowed in CLIENT_ALLOWED_LINKS)
    ]
    if outside:
        notes.append(f"its host allow-list has no {', '.join(outside)}")
    return notes


def _header_keys(text: str) -> Set[str]:
    """The top-level keys of a card's header (a card :func:`~.card.parse_card` accepted),
    read as the client splits it: between the first two lines that start with ``---``."""
    lines = text.splitlines()
    marks = [number for number, line in enumerate(lines) if line.startswith("---")]
    root = compose_yaml("\n".join(lines[marks[0] + 1 : marks[1]]), "card", what="the header")
    return {key.value for key, _ in root.value} if isinstance(root, yaml.MappingNode) else set()


def _check_checkpoint(card: ModelCard, target: Path) -> Tuple[Finding, bool]:
    """(finding, whether a file is there) for the asset the client restores, under the name
    the client gives it."""
    if not card.assets:
        return Finding(False, "the card has no asset: only pretrained=False loads"), False
    asset = card.assets[client_asset_id(card)]
    path = target / os.path.basename(asset.link.split("/")[-1])
    if not path.is_file():
        return Finding(
            False,
            f"{path} not cached: the client downloads {asset.link} on the "
            "first load and checks its sha256",
        ), False
    if verify(path, asset.sha256) is None:
        return Finding(
            False,
            f"{path}: sha256 is not the card's {asset.sha256}; the client "
            "would restore it unchecked. Delete it",
        ), True
    return Finding(True, f"{path} (sha256 matches the card)"), True

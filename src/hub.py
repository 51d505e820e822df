"""The hub client: ``load`` GhostNet by uid, URL or card, fetched, verified and restored.

It follows the MindSpore Hub protocol (cards, ``<cache>/<user>/<version>/<card>.md`` layout,
``create_network(model_name.lower(), *args, **kwargs)``), so code written for
``mindspore_hub.load`` runs unchanged, and it fixes what the real client gets wrong:
streamed hashing, atomic verified downloads with timeouts and resumed retries, a cache that
is re-verified before use and works offline, short hashes compared as prefixes, and a
strict restore that reports what it could not load.

The hub conf is code. Networks are built by this module's own ``create_network``; running
the ``mindspore_hub_conf.py`` of another directory needs ``trust_repo=True``, and no code is
ever downloaded.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from mindspore import nn

from .checkpoint import ParamDict, read_checkpoint, restore
from .card import ModelCard
from .errors import HubConfError, UnknownModelError, UntrustedRepoError
from .factory import MODEL_NAMES, create_network
from .ghostnet import variant_name
from .index import IndexEntry, index_for, list_index
from .settings import get_settings
from .weights import (FetchedModel, cached_checkpoint, fetch, get_hub_dir, resolve_card,
                      set_hub_dir)

HUB_CONF_FILE = "mindspore_hub_conf.py"
ENTRY_POINT = "create_network"

__all__ = ["FetchedModel", "HubInfo", "fetch", "get_hub_dir", "hub_list", "info", "load",
           "load_weights", "set_hub_dir"]


def load(name: str, *args: Any, source: Optional[str] = None, pretrained: bool = True,
         force_reload: bool = False, quiet: bool = False, offline: Optional[bool] = None,
         index: Optional[str] = None, mirror: Optional[str] = None,
         repo_dir: Union[str, Path, None] = None, trust_repo: bool = False,
         **kwargs: Any) -> nn.Cell:
    """The network a card describes, restored from its verified checkpoint when ``pretrained``.

    Args:
        name: a uid ``user/version/card``, a short uid ``user/model-name`` (newest version),
            an http(s) card URL, or a local card path.
        *args, **kwargs: passed to ``create_network`` (``load(uid, 10)`` gives 10 classes:
            the backbone is restored and the classifier left freshly initialised).
        source: ``None`` (``MSHUB_INDEX``), ``'gitee'``, ``'github'`` or ``'local'``.
        pretrained: restore the card's checkpoint; the network is then in eval mode.
        force_reload: fetch card and checkpoint again even if cached.
        quiet: no progress bar.
        offline, index, mirror: override ``MSHUB_OFFLINE``, ``MSHUB_INDEX``,
            ``MSHUB_ASSET_MIRROR`` for this call.
        repo_dir: a module directory whose ``mindspore_hub_conf.py`` builds the network,
            instead of this module's; needs ``trust_repo=True`` because it runs that code.
        trust_repo: allow ``repo_dir``'s code to run.

    Raises:
        UnknownModelError: the card's model is not a GhostNet variant and no trusted
            ``repo_dir`` was given.
        UntrustedRepoError: ``repo_dir`` given without ``trust_repo=True``.
        HubNameError, CardError, OfflineError, DownloadError, IntegrityError,
        CheckpointError: see :func:`fetch` and :func:`.factory.create_network`.
    """
    if repo_dir is not None and not trust_repo:
        raise UntrustedRepoError(f"{repo_dir}: running its {HUB_CONF_FILE} executes code "
                                 "from outside this module; pass trust_repo=True to allow it")
    options = dict(source=source, force_reload=force_reload, offline=offline, index=index)
    if not pretrained:
        card = resolve_card(name, **options).card
        return _create(card, repo_dir, args, kwargs)
    fetched = fetch(name, quiet=quiet, mirror=mirror, **options)
    model_name = fetched.card.model_name.lower()
    if repo_dir is None:
        _check_model(fetched.card)
        return create_network(model_name, *args, pretrained=fetched.checkpoint, **kwargs)
    net = _create(fetched.card, repo_dir, args, kwargs)
    restore(net, read_checkpoint(fetched.checkpoint), source=str(fetched.checkpoint))
    net.set_train(False)
    return net


def load_weights(name: str, *, source: Optional[str] = None, force_reload: bool = False,
                 quiet: bool = False, offline: Optional[bool] = None,
                 index: Optional[str] = None, mirror: Optional[str] = None) -> ParamDict:
    """The verified parameter dict of the card's checkpoint (as ``mindspore_hub.load_weights``).

    Raises:
        See :func:`fetch`; CheckpointError when the file is not a readable checkpoint.
    """
    fetched = fetch(name, source=source, force_reload=force_reload, quiet=quiet,
                    offline=offline, index=index, mirror=mirror)
    return read_checkpoint(fetched.checkpoint)


def hub_list(*, source: Optional[str] = None, index: Optional[str] = None,
             offline: Optional[bool] = None) -> List[IndexEntry]:
    """The cards the index offers (offline: the cards in the cache), newest version first.

    Raises:
        OfflineError / DownloadError: an http(s) index's ``index.json`` cannot be had.
        CardError: that listing is malformed.
    """
    settings = get_settings()
    where = index_for(source, settings.index if index is None else index)
    entries = list_index(where, root=get_hub_dir(),
                         offline=settings.offline if offline is None else offline)
    return sorted(entries, key=lambda entry: entry.uid)


@dataclass(frozen=True)
class HubInfo:
    """What :func:`info` tells about a card: the card, and its checkpoint's cache state."""

    card: ModelCard
    card_path: Path
    checkpoint: Path
    """Where the checkpoint is, or would be, cached."""
    cached: bool
    verified: bool
    """Cached and matching the card's sha256 (by its verified marker or by hashing)."""


def info(name: str, *, source: Optional[str] = None, force_reload: bool = False,
         offline: Optional[bool] = None, index: Optional[str] = None) -> HubInfo:
    """The parsed card called ``name`` and whether its checkpoint is cached and verified.

    Never downloads the checkpoint (it may fetch the card).

    Raises:
        HubNameError, CardError, OfflineError, DownloadError: see :func:`fetch`.
    """
    resolved = resolve_card(name, source=source, force_reload=force_reload, offline=offline,
                            index=index)
    path, is_verified = cached_checkpoint(resolved)
    return HubInfo(resolved.card, resolved.card_path, path, path.is_file(), is_verified)


def _check_model(card: ModelCard) -> None:
    try:
        variant_name(card.model_name)
    except KeyError:
        raise UnknownModelError(card.model_name, MODEL_NAMES) from None


def _create(card: ModelCard, repo_dir: Union[str, Path, None], args: tuple,
            kwargs: Dict[str, Any]) -> nn.Cell:
    """Build the card's network, with this module's factory or a trusted repo's hub conf."""
    if repo_dir is None:
        _check_model(card)
        return create_network(card.model_name.lower(), *args, **kwargs)
    folder = Path(repo_dir).resolve()
    conf = folder / HUB_CONF_FILE
    if not conf.is_file():
        raise HubConfError(f"{conf}: no {HUB_CONF_FILE} in repo_dir")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(HUB_CONF_FILE, conf)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    net = getattr(module, ENTRY_POINT)(card.model_name.lower(), *args, **kwargs)
    if not isinstance(net, nn.Cell):
        raise HubConfError(f"{conf}: {ENTRY_POINT} returned {type(net).__name__}, "
                           "not an nn.Cell")
    return net

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
from typing import Any, Dict, List, Optional, Tuple, Union

from mindspore import nn

from .cache import get_hub_dir, set_hub_dir
from .card import ModelCard
from .checkpoint import ParamDict, read_checkpoint, restore
from .errors import HubConfError, UntrustedRepoError
from .factory import create_network
from .index import IndexEntry, index_for, list_index, newest_first
from .registry import variant_key
from .settings import get_settings
from .weights import (FetchedModel, ResolvedWeights, cached_checkpoint, fetch, record_for_card,
                      resolve_card)

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
    if not pretrained:
        card = resolve_card(name, source=source, force_reload=force_reload, offline=offline,
                            index=index).card
        return _create(card, repo_dir, args, kwargs)
    fetched = fetch(name, source=source, force_reload=force_reload, offline=offline,
                    index=index, quiet=quiet, mirror=mirror)
    if repo_dir is None:
        arch = variant_key(fetched.card.model_name)
        weights = ResolvedWeights(name, fetched.checkpoint, fetched.sha256,
                                  record_for_card(fetched.card, fetched.sha256), fetched.card)
        return create_network(arch, *args, pretrained=weights, **kwargs)
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
    """The cards the index offers (offline: the cards in the cache): by uid, and the
    versions of one card newest first.

    Raises:
        OfflineError / DownloadError: an http(s) index's ``index.json`` cannot be had.
        CardError: that listing is malformed.
    """
    settings = get_settings()
    where = index_for(source, settings.index if index is None else index)
    entries = list_index(where, root=get_hub_dir(),
                         offline=settings.offline if offline is None else offline)
    # a stable sort by card keeps each card's versions in the newest-first order
    return sorted(newest_first(entries), key=lambda entry: _card_key(entry.uid))


def _card_key(uid: str) -> Tuple[str, str]:
    """``(user, card)``: the key that groups the versions of one card together."""
    parts = uid.split("/")
    return (parts[0], parts[-1])


@dataclass(frozen=True)
class HubInfo:
    """What :func:`info` tells about a card: the card, and its checkpoint's cache state."""

    card: ModelCard
    card_path: Path
    checkpoint: Path
    """Where the checkpoint is, or would be, cached."""
    cached: bool
    sha256: Optional[str]
    """The checkpoint's full digest when it is cached and matches the card's sha256 (by its
    verified marker or by hashing); None otherwise."""

    @property
    def verified(self) -> bool:
        """Whether the checkpoint is cached and matches the card."""
        return self.sha256 is not None


def info(name: str, *, source: Optional[str] = None, force_reload: bool = False,
         offline: Optional[bool] = None, index: Optional[str] = None) -> HubInfo:
    """The parsed card called ``name`` and whether its checkpoint is cached and verified.

    Never downloads the checkpoint (it may fetch the card).

    Raises:
        HubNameError, CardError, OfflineError, DownloadError: see :func:`fetch`.
    """
    resolved = resolve_card(name, source=source, force_reload=force_reload, offline=offline,
                            index=index)
    path, digest = cached_checkpoint(resolved)
    return HubInfo(resolved.card, resolved.card_path, path, path.is_file(), digest)


def _create(card: ModelCard, repo_dir: Union[str, Path, None], args: tuple,
            kwargs: Dict[str, Any]) -> nn.Cell:
    """Build the card's network, with this module's factory or a trusted repo's hub conf."""
    if repo_dir is None:
        return create_network(variant_key(card.model_name), *args, **kwargs)
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

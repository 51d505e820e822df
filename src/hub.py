"""The hub client: ``load`` GhostNet by uid, URL or card, fetched, verified and restored.

It follows the MindSpore Hub protocol (cards, ``<cache>/<user>/<version>/<card>.md`` layout,
``create_network(model_name.lower(), *args, **kwargs)``), so code written for
``mindspore_hub.load`` runs unchanged, and it fixes what the real client gets wrong:
streamed hashing, atomic verified downloads with timeouts and resumed retries, a cache that
is re-verified before use and works offline, short hashes compared as prefixes, and a
strict restore that reports what it could not load.

Signatures and return types match the real client's (``load``, ``load_weights``,
``hub_list``), so it is a drop-in; the richer listing is :func:`list_cards`.

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

from .cache import get_hub_dir, safe_asset_name, set_hub_dir
from .card import ModelCard
from .checkpoint import ParamDict, model_params, read_checkpoint, restore
from .errors import CardError, HubConfError, UntrustedRepoError
from .factory import create_network
from .registry import MODEL_NAMES, is_variant, variant_key
from .weights import (
    FetchedModel,
    ResolvedWeights,
    cached_checkpoint,
    checkpoint_asset,
    fetch,
    list_cards,
    record_for_card,
    resolve_card,
    resolve_weights,
)

HUB_CONF_FILE = "mindspore_hub_conf.py"
ENTRY_POINT = "create_network"
HUB_BRANCHES = (
    "master",
    "r1.0",
    "r1.0.1",
    "r1.1",
    "r1.2",
    "r1.3",
    "r1.4",
    "r1.5",
    "r1.6",
    "r1.8",
    "r1.9",
    "r1.10",
)
"""The ``version`` values the real ``hub_list`` takes: branches of the hub's repository."""
LISTED_BRANCH = "master"

__all__ = [
    "FetchedModel",
    "HubInfo",
    "check_loadable",
    "fetch",
    "get_hub_dir",
    "hub_list",
    "info",
    "list_cards",
    "load",
    "load_weights",
    "serve",
    "set_hub_dir",
    "transform",
]


def load(
    name: str,
    *args: Any,
    source: Optional[str] = None,
    pretrained: bool = True,
    force_reload: bool = False,
    quiet: bool = False,
    offline: Optional[bool] = None,
    index: Optional[str] = None,
    mirror: Optional[str] = None,
    repo_dir: Union[str, Path, None] = None,
    trust_repo: bool = False,
    **kwargs: Any,
) -> nn.Cell:
    """The network a card describes, restored from its verified checkpoint when ``pretrained``.

    Args:
        name: a uid ``user/version/card`` or ``user/device/version/card``, a short uid
            ``user/model-name`` (see :mod:`.uid`), an http(s) card URL, or a local card path.
        *args, **kwargs: passed to ``create_network``. ``load(uid)`` has the checkpoint's
            classes; ``load(uid, 10)`` gives 10: the backbone is restored and the classifier
            left freshly initialised.
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
        TypeError: ``name`` is not a str, or ``pretrained``/``force_reload`` not a bool (as
            the real client).
        UnknownModelError: the card's model is not a GhostNet variant and no trusted
            ``repo_dir`` was given.
        UntrustedRepoError: ``repo_dir`` given without ``trust_repo=True``.
        HubNameError, CardError, OfflineError, DownloadError, IntegrityError,
        CheckpointError: see :func:`fetch` and :func:`.factory.create_network`.
    """
    _check_types(name, pretrained=pretrained, force_reload=force_reload)
    if repo_dir is not None and not trust_repo:
        raise UntrustedRepoError(
            f"{repo_dir}: running its {HUB_CONF_FILE} executes code "
            "from outside this module; pass trust_repo=True to allow it"
        )
    if not pretrained:
        card = resolve_card(
            name, source=source, force_reload=force_reload, offline=offline, index=index
        ).card
        return _create(card, repo_dir, args, kwargs)
    fetched = fetch(
        name,
        source=source,
        force_reload=force_reload,
        offline=offline,
        index=index,
        quiet=quiet,
        mirror=mirror,
    )
    if repo_dir is None:
        arch = variant_key(fetched.card.model_name)
        weights = ResolvedWeights(
            name,
            fetched.checkpoint,
            fetched.sha256,
            record_for_card(fetched.card, fetched.sha256),
            fetched.card,
        )
        return create_network(arch, *args, pretrained=weights, **kwargs)
    net = _create(fetched.card, repo_dir, args, kwargs)
    restore(net, read_checkpoint(fetched.checkpoint), source=str(fetched.checkpoint))
    net.set_train(False)
    return net


def load_weights(
    name: str,
    source: Optional[str] = None,
    force_reload: bool = False,
    *,
    quiet: bool = False,
    offline: Optional[bool] = None,
    index: Optional[str] = None,
    mirror: Optional[str] = None,
) -> ParamDict:
    """The verified parameter dict of the card's checkpoint (as ``mindspore_hub.load_weights``,
    whose ``source`` and ``force_reload`` may also be given by position): the network's
    parameters only, without a training run's optimizer state or metadata
    (:func:`.checkpoint.model_params`).

    Raises:
        TypeError: ``name`` is not a str or ``force_reload`` not a bool.
        See :func:`fetch`; CheckpointError when the file is not a readable checkpoint.
    """
    _check_types(name, force_reload=force_reload)
    fetched = fetch(
        name,
        source=source,
        force_reload=force_reload,
        quiet=quiet,
        offline=offline,
        index=index,
        mirror=mirror,
    )
    return model_params(read_checkpoint(fetched.checkpoint))


def hub_list(version: Optional[str] = None, force_reload: bool = True) -> List[str]:
    """The names of the cards the index (``MSHUB_INDEX``) offers, sorted, each once: the
    file names without ``.md``, as the real ``mindspore_hub.hub_list`` returns them.

    The real client clones a branch of the hub's repository and lists user ``mindspore``'s
    cards; this one reads the configured index, whatever its users, and always afresh
    (``index.json`` is small), so ``force_reload`` changes nothing beyond its type check.
    ``version`` is the branch: ``None`` or ``'master'``, the index as it is.

    Raises:
        TypeError: ``version`` is not a str or None, or ``force_reload`` not a bool.
        ValueError: ``version`` is not a branch of the hub, or a release branch (an index
            has one version of its tree).
        MissingListingError: an http(s) index without ``index.json``.
        OfflineError / DownloadError: the listing cannot be had.
    """
    if version is not None and not isinstance(version, str):
        raise TypeError("`version` must be a str type or None(default).")
    if not isinstance(force_reload, bool):
        raise TypeError("`force_reload` must be a bool type.")
    branch = LISTED_BRANCH if version is None else version
    if branch not in HUB_BRANCHES:
        raise ValueError(f"`version` must be a correct version: {HUB_BRANCHES}.")
    if branch != LISTED_BRANCH:
        raise ValueError(
            f"version {branch!r}: this client lists the index it is configured "
            f"with (MSHUB_INDEX), which has one version; use None or "
            f"{LISTED_BRANCH!r}"
        )
    return sorted({entry.uid.rsplit("/", 1)[-1] for entry in list_cards()})


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


def info(
    name: str,
    *,
    source: Optional[str] = None,
    force_reload: bool = False,
    offline: Optional[bool] = None,
    index: Optional[str] = None,
) -> HubInfo:
    """The parsed card called ``name`` and whether its checkpoint is cached and verified.

    Never downloads the checkpoint (it may fetch the card).

    Raises:
        HubNameError, CardError, OfflineError, DownloadError: see :func:`fetch`.
    """
    resolved = resolve_card(
        name, source=source, force_reload=force_reload, offline=offline, index=index
    )
    path, is_verified = cached_checkpoint(resolved)
    return HubInfo(resolved.card, resolved.card_path, path, path.is_file(), is_verified)


def check_loadable(card: ModelCard) -> List[str]:
    """Check ``card`` as :func:`load` does before it fetches anything, and say what a plain
    ``load(uid)`` could not do with it.

    Returns:
        Notes, empty when ``load(uid)`` works as it is: a card with no ckpt asset loads only
        with ``pretrained=False``; a model that is not a GhostNet variant needs its own code
        (``repo_dir`` and ``trust_repo=True``).

    Raises:
        UnsafeAssetNameError: the checkpoint's link names a file load refuses to write.
    """
    notes = []
    try:
        asset = checkpoint_asset(card)
    except CardError:
        notes.append("no ckpt asset: it loads with pretrained=False only")
    else:
        safe_asset_name(asset.link)
    if not is_variant(card.model_name):
        notes.append(
            f"model-name {card.model_name!r} is not a GhostNet variant "
            f"({', '.join(MODEL_NAMES)}): it loads with repo_dir=<its code> and "
            "trust_repo=True only"
        )
    return notes


def _check_types(name: object, **flags: object) -> None:
    """The real client's argument checks: a str name and bool flags."""
    if not isinstance(name, str):
        raise TypeError("Network name must be a string of name or a url.")
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"`{flag}` must be a bool type.")


def _create(
    card: ModelCard, repo_dir: Union[str, Path, None], args: tuple, kwargs: Dict[str, Any]
) -> nn.Cell:
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
        raise HubConfError(f"{conf}: {ENTRY_POINT} returned {type(net).__name__}, not an nn.Cell")
    return net


def serve(
    name: str,
    port: int = 8080,
    *,
    host: str = "127.0.0.1",
    arch: Optional[str] = None,
    backend: str = "auto",
    max_batch: int = 16,
    max_wait_ms: float = 5.0,
) -> int:
    """Serve ``name`` over HTTP until SIGTERM or Ctrl-C, as ``ghostnet serve`` does.

    The hub client declares ``mindspore_hub.deploy.serving(name, port)`` and raises
    ``NotImplementedError``; this is that function. ``name`` is anything ``predict --model``
    takes; the server binds to 127.0.0.1 unless ``host`` says otherwise.

    Raises:
        ServeError: the server could not start. See :func:`.serve.serve` for the rest.
    """
    from .serve import serve as run  # pylint: disable=import-outside-toplevel  (FastAPI)

    return run(
        name,
        arch=arch,
        host=host,
        port=port,
        backend=backend,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
    )


def transform(
    net_or_name: Union[str, nn.Cell],
    method: str = "int8",
    *,
    dataset: str,
    eval_dataset: Optional[str] = None,
    output: Union[str, Path, None] = None,
    arch: Optional[str] = None,
    max_drop: float = 1.0,
    force: bool = False,
) -> Path:
    """Quantize a model to an int8 ONNX file, as ``ghostnet quantize`` does; its path.

    The hub client declares ``mindspore_hub.optimize.transform(net, model, method, device,
    dataset)`` and raises ``NotImplementedError``; this is that function for GhostNet.

    Args:
        net_or_name: anything ``predict --model`` takes (``arch`` for a ``.ckpt``), or a
            network from this module (its ``pretrained_cfg`` says its classes and input).
        method: ``'int8'``, the only method.
        dataset: images to calibrate on.
        eval_dataset: held-out images, one sub-folder per class, for the accuracy gate;
            default ``dataset`` itself (then the gate is not on held-out images).
        output: the ``.onnx`` file; default ``<cache>/quantized/<arch>-<sha256>-int8.onnx``
            for a name (required for a network).
        max_drop, force: the gate, as ``--max-drop`` and ``--force``.

    Raises:
        QuantizeError: an unknown method, unusable folders, or the gate refused the model.
        See :func:`.quantize.quantize_network` for the rest.
    """
    # pylint: disable=import-outside-toplevel
    from .errors import QuantizeError
    from .predictor import load_network
    from .quantize import quantize_network

    if method != "int8":
        raise QuantizeError(f"method {method!r}: only 'int8' is available")
    if isinstance(net_or_name, nn.Cell):
        record = getattr(net_or_name, "pretrained_cfg", None)
        if output is None or record is None:
            raise QuantizeError(
                "transform(net, ...) needs a GhostNet of this module and output=PATH.onnx"
            )
        net = net_or_name
    else:
        spec = resolve_weights(net_or_name, arch)
        net, record = load_network(spec)
        if output is None:
            output = get_hub_dir() / "quantized" / f"{spec.arch}-{spec.sha256[:16]}-int8.onnx"
    report = quantize_network(
        net,
        record,
        calibration=Path(dataset),
        eval_folder=Path(eval_dataset or dataset),
        output=Path(output),
        max_drop=max_drop,
        force=force,
    )
    if report.output is None:
        raise QuantizeError(
            f"int8 top-1 drops {report.drop:.2f} points "
            f"({report.top1_fp32:.2%} -> {report.top1_int8:.2%}), over "
            f"max_drop {max_drop:g}; nothing written (force=True writes it)"
        )
    return report.output

"""From what a user names to verified weights on disk, with their record.

The one resolver of "a ``.ckpt`` path, ``True``, or a hub name" (:func:`resolve_weights`),
used by ``create_network``, the CLI (``--model``) and fine-tuning alike. A hub name (a uid,
a short uid, a card URL or a card path) goes card -> index -> cache/download -> verify; the
result carries the full sha256 that was verified, so nothing downstream hashes the file
again, and the :class:`~.registry.WeightsRecord` of the weights as far as it is known
before the checkpoint is read.

Free of MindSpore: resolving a model must not cost MindSpore's import, so that ``predict``
on a cached ONNX export starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional, Tuple, Union
from urllib.parse import urlsplit

from .cache import cache_folder, fetch_asset, get_hub_dir, safe_asset_name, verify
from .card import CardAsset, ModelCard, load_card
from .download import sha256_file
from .errors import CardError, ModelSpecError
from .index import CardLocation, IndexEntry, fetch_card, index_for, is_url, list_index, locate
from .onnx_model import ONNX_SUFFIX, ort_session, read_record
from .registry import PUBLISHED, VARIANTS, WeightsRecord, base_record, published_record, variant_key
from .settings import get_settings
from .uid import newest_first

CHECKPOINT_SUFFIX = ".ckpt"
DEFAULT_ARCH = "ghostnet"
"""The stand-in variant of a ``.ckpt`` named without one, until its own record is read."""
SAFETENSORS_SUFFIX = ".safetensors"
"""timm's weights files (see :mod:`.foreign`)."""
WEIGHTS_FILE_SUFFIXES = (CHECKPOINT_SUFFIX, SAFETENSORS_SUFFIX)
"""A ``pretrained=`` or ``--model`` value with one of these suffixes is a local file."""


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


@dataclass(frozen=True)
class ResolvedWeights:
    """Weights ready to restore: which network, from which verified file, fed how."""

    source: str
    """What the user named (``--model``, ``pretrained=``), for messages."""
    checkpoint: Path
    """The ``.ckpt`` file, or an ``.onnx`` model file that ONNX Runtime runs as it is."""
    sha256: str
    """Full hex SHA-256 of :attr:`checkpoint`."""
    record: WeightsRecord
    """What is known before reading the file: the variant, and the published record's
    classes and preprocessing when the weights are published ones."""
    card: Optional[ModelCard] = None
    """The card the weights came from, for hub names."""
    arch_known: bool = True
    """False for a ``.ckpt`` named without an architecture: :attr:`record` is then the
    default variant's, a stand-in until the checkpoint is read (with MindSpore, once, by
    :func:`.predictor.load_network`), which takes the architecture the checkpoint records."""

    @property
    def arch(self) -> str:
        """The GhostNet variant (``ghostnet``, ``ghostnet_050``, ...), lower-case."""
        return self.record.arch


Weights = Union[bool, str, Path, ResolvedWeights]
"""What ``pretrained=`` takes: False, True (the published weights), a ``.ckpt`` path, a hub
name, or weights already resolved."""


def resolve_weights(
    weights: Weights, arch: Optional[str] = None, *, quiet: bool = False
) -> ResolvedWeights:
    """Resolve ``weights`` into a verified local checkpoint and its record.

    Args:
        weights: ``True`` for ``arch``'s published weights (fetched through the hub client);
            a ``.ckpt`` file (built as ``arch``, or as the checkpoint records); a model name
            with published weights (``ghostnet``: those weights); a hub name (built as its
            card's ``model-name``); an ``.onnx`` model file of ``ghostnet quantize`` (its
            record is inside; ``predict`` and ``serve`` run it as it is, nothing restores
            it); or a :class:`ResolvedWeights`, returned as it is.
        arch: the variant to build; needed for ``True``; for a ``.ckpt`` file, optional
            when the checkpoint records its architecture (checked against it when it does);
            checked against the card for a hub name.
        quiet: no download progress bar.

    Raises:
        ModelSpecError: a missing checkpoint file, a folder or another format's file, a
            model name without published weights, a card
            whose model is not ``arch``, or ``True`` for a variant without published weights.
        UnknownModelError: ``arch`` (or the card's model-name) is not a variant.
        HubNameError, CardError, OfflineError, DownloadError, IntegrityError: from the hub.
    """
    if isinstance(weights, ResolvedWeights):
        if arch is not None and variant_key(arch) != weights.arch:
            raise ModelSpecError(
                f"{weights.source}: these weights are {weights.arch}, not {arch.lower()}"
            )
        return weights
    if weights is True:
        return _published(arch)
    if isinstance(weights, bool) or not isinstance(weights, (str, Path)):
        raise TypeError(
            f"pretrained must be a bool, a checkpoint path or a hub name, got {weights!r}"
        )
    if str(weights).lower().endswith(WEIGHTS_FILE_SUFFIXES):
        return _checkpoint_file(str(weights), arch)
    if str(weights).lower().endswith(ONNX_SUFFIX):
        return _onnx_file(str(weights), arch)
    _refuse_foreign_path(str(weights))
    published = _published_by_model_name(str(weights))
    if published is not None:
        return _published(published)
    return _hub_name(str(weights), arch, quiet=quiet)


FOREIGN_SUFFIXES = (".bin", ".pt", ".pth", ".mindir", ".h5", ".npz", ".pkl", ".msgpack")
"""Weights files of other frameworks or formats, refused with a message saying what fits."""
EXPECTED = (
    "a MindSpore .ckpt file, an .onnx file of ghostnet quantize, a hub uid "
    "'user/version/card', or a model card (.md)"
)


def _refuse_foreign_path(model: str) -> None:
    """A folder or another framework's weights file named as a model: say what was expected
    rather than fail to parse it as a card or a uid."""
    path = Path(model).expanduser()
    if path.is_dir():
        raise ModelSpecError(f"{model}: is a folder; expected {EXPECTED}")
    if path.suffix.lower() in FOREIGN_SUFFIXES:
        raise ModelSpecError(
            f"{model}: a {path.suffix} file is not a model this package reads; expected {EXPECTED}"
        )


def _published_by_model_name(model: str) -> Optional[str]:
    """The variant whose published weights a bare model name (``ghostnet``, as
    ``create_network`` takes it) stands for, or None when ``model`` is not a model name.

    Raises:
        ModelSpecError: a model name without published weights (the uids that exist are
            suggested).
    """
    if "/" in model or Path(model).expanduser().exists() or model.lower() not in VARIANTS:
        return None
    if published_record(model) is None:
        with_weights = ", ".join(f"{arch} ({record.uid})" for arch, record in PUBLISHED.items())
        raise ModelSpecError(
            f"{model}: a model name without published weights; name a hub "
            f"uid 'user/version/card' or a .ckpt file (published: "
            f"{with_weights})"
        )
    return model.lower()


def _published(arch: Optional[str]) -> ResolvedWeights:
    if arch is None:
        raise ModelSpecError("pretrained=True needs the model name")
    record = published_record(variant_key(arch))
    if record is None or record.uid is None:
        with_weights = ", ".join(PUBLISHED)
        raise ModelSpecError(
            f"{arch} has no published weights (models with weights: "
            f"{with_weights}); pass a checkpoint path or a hub name"
        )
    fetched = fetch(record.uid)
    return ResolvedWeights(record.uid, fetched.checkpoint, fetched.sha256, record, fetched.card)


def _checkpoint_file(model: str, arch: Optional[str]) -> ResolvedWeights:
    path = Path(model).expanduser()
    if path.is_dir():
        raise ModelSpecError(f"{model}: is a folder; expected a MindSpore .ckpt file")
    if not path.is_file():
        raise ModelSpecError(f"{model}: checkpoint file not found")
    sha256 = sha256_file(path)
    record = base_record(DEFAULT_ARCH if arch is None else arch)
    published = published_record(record.arch)
    if published is not None and published.sha256 == sha256:  # a copy of published weights
        record = published
    return ResolvedWeights(model, path.resolve(), sha256, record, arch_known=arch is not None)


def _onnx_file(model: str, arch: Optional[str]) -> ResolvedWeights:
    """A self-describing ONNX model file (``ghostnet quantize``): its record is inside it."""
    path = Path(model).expanduser()
    if arch is not None:
        raise ModelSpecError(f"--arch {arch}: an ONNX model file names its architecture")
    if not path.is_file():
        raise ModelSpecError(f"{model}: ONNX model file not found")
    record = read_record(ort_session(path, threads=1), model)
    return ResolvedWeights(model, path.resolve(), sha256_file(path), record)


def _hub_name(model: str, arch: Optional[str], *, quiet: bool) -> ResolvedWeights:
    fetched = fetch(model, quiet=quiet)
    card_arch = variant_key(fetched.card.model_name)
    if arch is not None and variant_key(arch) != card_arch:
        raise ModelSpecError(f"{model}: its card builds {card_arch}, not {arch.lower()}")
    record = record_for_card(fetched.card, fetched.sha256)
    return ResolvedWeights(model, fetched.checkpoint, fetched.sha256, record, fetched.card)


def record_for_card(card: ModelCard, sha256: Optional[str] = None) -> WeightsRecord:
    """The record of a card's weights: the published record when the card is that of the
    published weights, else the variant's base record with the card's asset and uid, and
    ImageNet's label list only when the card's train-dataset is ImageNet.

    Raises:
        UnknownModelError: the card's model-name is not a variant.
    """
    arch = variant_key(card.model_name)
    published = published_record(arch)
    if published is not None and sha256 is not None and published.sha256 == sha256:
        return published
    asset = checkpoint_asset(card) if card.assets else None
    base = base_record(arch)
    imagenet = "imagenet" in (card.train_dataset or "").lower()
    return replace(
        base,
        url=asset.link if asset else None,
        sha256=sha256,
        label_list=base.label_list if imagenet else None,
    )


def resolve_card(
    name: str,
    *,
    source: Optional[str] = None,
    force_reload: bool = False,
    offline: Optional[bool] = None,
    index: Optional[str] = None,
) -> ResolvedCard:
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
        return ResolvedCard(
            card, path, cache_folder(card.user_id.lower(), card.model_version, root=root)
        )
    where = index_for(source, settings.index if index is None else index)
    location: CardLocation = locate(name, index=where, offline=offline, root=root)
    card, path = fetch_card(location, root=root, offline=offline, force_reload=force_reload)
    return ResolvedCard(card, path, path.parent)


def checkpoint_asset(card: ModelCard) -> CardAsset:
    """The asset the hub's client restores from: the last one whose file-format is ``ckpt``;
    failing that, the first asset, as for the hub's client, when it links a ``.ckpt`` file
    (a real card labels its checkpoint ``mslite``).

    Raises:
        CardError: the card has no checkpoint asset.
    """
    for asset in reversed(card.assets):
        if asset.file_format == "ckpt":
            return asset
    if card.assets and urlsplit(card.assets[0].link).path.lower().endswith(CHECKPOINT_SUFFIX):
        return card.assets[0]
    raise CardError(
        card.source, "the card has no ckpt asset to restore weights from", field="asset"
    )


def fetch(
    name: str,
    *,
    source: Optional[str] = None,
    force_reload: bool = False,
    quiet: bool = False,
    offline: Optional[bool] = None,
    index: Optional[str] = None,
    mirror: Optional[str] = None,
) -> FetchedModel:
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
    resolved = resolve_card(
        name, source=source, force_reload=force_reload, offline=offline, index=index
    )
    asset = checkpoint_asset(resolved.card)
    cached = fetch_asset(
        asset.link,
        resolved.folder,
        asset.sha256,
        offline=offline,
        mirror=mirror,
        force=force_reload,
        progress=not quiet,
        quiet=quiet,
    )
    return FetchedModel(resolved.card, resolved.card_path, cached.path, cached.sha256)


def cached_checkpoint(resolved: ResolvedCard) -> Tuple[Path, Optional[str]]:
    """Where the card's checkpoint is (or would be) cached, and its full sha256 when it is
    there and verified (None otherwise).

    Raises:
        CardError: the card has no ckpt asset.
        UnsafeAssetNameError: the asset link's file name is unsafe.
    """
    asset = checkpoint_asset(resolved.card)
    path = resolved.folder / safe_asset_name(asset.link)
    return path, verify(path, asset.sha256) if path.is_file() else None


def list_cards(
    *, source: Optional[str] = None, index: Optional[str] = None, offline: Optional[bool] = None
) -> List[IndexEntry]:
    """Every card the index offers (offline: the cards in the cache), with its uid and
    ``model-name``: by user and card name, and the versions of one card in the short-uid
    order (:func:`.uid.newest_first`). Reads names only: no card is fetched or validated.

    Raises:
        MissingListingError: an http(s) index without ``index.json``.
        OfflineError / DownloadError: an http(s) index's ``index.json`` cannot be had.
        CardError: that listing is malformed.
    """
    settings = get_settings()
    where = index_for(source, settings.index if index is None else index)
    entries = list_index(
        where, root=get_hub_dir(), offline=settings.offline if offline is None else offline
    )
    rank = {uid: number for number, uid in enumerate(newest_first(e.uid for e in entries))}
    return sorted(entries, key=lambda entry: (_card_key(entry.uid), rank[entry.uid]))


def _card_key(uid: str) -> Tuple[str, str]:
    """``(user, card)``: the key that groups the versions of one card together."""
    parts = uid.split("/")
    return (parts[0], parts[-1])

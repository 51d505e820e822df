"""Publish a checkpoint to a hub index: the asset beside a validated card, written atomically.

The index is laid out as the MindSpore Hub's card tree, which the hub client reads::

    <index>/<user>/<version>/<name>_<dataset>.md      the card; its uid is user/version/<card>
    <index>/assets/<sha256[:16]>_<name>_<dataset>.ckpt the asset, under a hash-prefixed name
    <index>/index.json                                 the list of cards, for http(s) indexes

(``<dataset>`` in file names is the data set name lower-cased, without spaces or symbols.)

The assets live in one folder of their own so that an index can be served from one root
(``--asset-base-url`` is where ``<index>/assets`` is served) and so that a new version of a
card never overwrites the bytes an older card points to. ``model-name`` must be a GhostNet
variant: the hub client builds the network from it (``create_network(model-name)``), and the
classifier's size comes from the checkpoint. It defaults to the ``arch`` the fine-tuning run
recorded in the checkpoint.

The card is written for the public hub as well as for this client:
- it passes the hub's gate (:mod:`.hub_rules`): ``train-dataset`` must be one of the hub's
  accepted names (the nearest ones are suggested), unless the request says the index is
  project-local (``--local-dataset``);
- ``repo-link`` points at code with this project's ``mindspore_hub_conf.py``
  (:data:`DEFAULT_REPO_LINK`), which the real client clones and imports;
- its usage section gives ``mindspore_hub.load(uid, N)`` with this checkpoint's number of
  classes, because the real client passes only the caller's arguments to
  ``create_network``; this client's ``hub.load(uid)`` reads the number from the checkpoint;
- the asset holds only the network's parameters and the class names, image size and arch
  (what inference and fine-tuning need), not the optimizer's state, and the card records its
  size.

Publishing is idempotent: the same bytes under the same card do nothing (and say so), except
bring ``index.json`` up to date, so a re-run after a publish killed before it wrote the
listing converges to the truth. A different file under an existing card or asset name is
refused unless ``force``. Publishes to one index take turns (a lock file,
``<index>/.publish.lock``), and the one holding it removes the temporaries of publishes that
were killed (see :mod:`.atomic`). Names are checked up front with the rules the hub client
loads by, so a publish never writes a card that cannot be loaded, and weights with NaN,
infinities or exploded BatchNorm statistics are refused (:mod:`.numerics`).
"""

from __future__ import annotations

import datetime
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import mindspore as ms

from . import cache
from .atomic import copy_file, exclusive_lock, remove_stale_temps, write_text
from .card import CardAsset, ModelCard, load_card, parse_card, render_card
from .checkpoint import ParamDict, read_checkpoint
from .download import sha256_file
from .errors import CachePathError, CardError, GhostnetHubError, PublishError, UnsafeAssetNameError
from .factory import network_from_params
from .hub_rules import dataset_problem, hub_problems
from .index import INDEX_FILE, write_listing
from .numerics import named_arrays, weights_problem
from .registry import IMAGENET_PREPROCESSING, VARIANTS, CheckpointMeta, meta_entries, read_meta
from .run_log import METRICS_FILE, Row, read_metrics

ASSETS_FOLDER = "assets"
LOCK_FILE = ".publish.lock"
HASH_PREFIX_DIGITS = 16
DEFAULT_REPO_LINK = "https://github.com/ghostnet-hub/ghostnet-hub"
"""This project's repository. Its root holds ``mindspore_hub_conf.py``; the real client
clones the repository's ``master`` branch (a link of this shape, without ``/tree/...``) and
imports that file from the clone."""
_NOT_IN_NAMES = re.compile(r"[^a-z0-9._]+")


@dataclass(frozen=True)
class PublishRequest:
    """What to publish and where; the CLI options map one to one onto these fields."""

    checkpoint: Path
    index: Path
    user: str
    version: str
    dataset: str
    asset_base_url: str
    name: Optional[str] = None
    """``model-name``: a GhostNet variant; None takes the checkpoint's recorded arch."""
    evaluation: Optional[str] = None
    """None derives it from ``metrics.csv`` beside the checkpoint, when there is one."""
    repo_link: str = DEFAULT_REPO_LINK
    force: bool = False
    local_dataset: bool = False
    """Take a ``dataset`` the public hub does not accept: for a project-local index only."""
    int8: Optional[Path] = None
    """An int8 ONNX model of the checkpoint (``ghostnet quantize``), published as the card's
    second asset (``file-format: onnx``)."""


@dataclass(frozen=True)
class PublishResult:
    """Where the card and asset are, the uid to load, and whether anything was written."""

    uid: str
    card_path: Path
    asset_path: Path
    sha256: str
    changed: bool
    size: int
    """Bytes of the published asset."""
    listing_updated: bool = False
    """Whether ``index.json`` was (re)written."""


def publish(request: PublishRequest) -> PublishResult:
    """Copy the checkpoint into the index and write its validated card.

    Raises:
        CheckpointError: the checkpoint cannot be read, or does not fit its network.
        PublishError: a bad name (one the hub client could not load included), a data set
            the hub does not accept (without ``local_dataset``), weights with NaN,
            infinities or exploded BatchNorm statistics, or a different file already
            published under the card or asset name (without ``force``).
        CardError: the generated card does not validate, or breaks the hub's gate (names
            the field).
    """
    source = Path(request.checkpoint)
    params = read_checkpoint(source)
    problem = weights_problem(named_arrays(params))
    if problem is not None:
        raise PublishError(f"{source}: {problem}; refusing to publish it")
    meta = read_meta(params, str(source))
    model_name = _model_name(request.name, meta.arch, source)
    for label, part in (("user", request.user), ("version", request.version)):
        _check_part(label, part)
    _check_dataset(request.dataset, request.local_dataset)
    card_name = f"{model_name}_{_name_part(request.dataset)}"
    card_path = request.index / request.user / request.version / f"{card_name}.md"
    uid = f"{request.user}/{request.version}/{card_name}"
    _check_loadable(request, card_name)
    request.index.mkdir(parents=True, exist_ok=True)
    with (
        exclusive_lock(request.index / LOCK_FILE),
        tempfile.TemporaryDirectory(prefix="ghostnet-publish-") as scratch,
    ):
        weights, num_classes = _weights_only(
            params, meta, model_name, source, Path(scratch) / "weights.ckpt"
        )
        return _publish_weights(
            request,
            weights,
            uid=uid,
            card_path=card_path,
            card_name=card_name,
            model_name=model_name,
            meta=meta,
            num_classes=num_classes,
        )


def _check_loadable(request: PublishRequest, card_name: str) -> None:
    """Refuse names the hub client would not load: the uid's parts and the asset's file name
    (its hash prefix is the same length whatever the hash) go through the checks they meet
    when they are loaded, length included.

    Raises:
        PublishError: a name that could not be loaded.
    """
    asset_name = f"{'0' * HASH_PREFIX_DIGITS}_{card_name}.ckpt"
    try:
        cache.card_path(request.user, request.version, card_name, root=request.index)
        cache.safe_asset_name(f"{request.asset_base_url.rstrip('/')}/{asset_name}")
    except (CachePathError, UnsafeAssetNameError) as error:
        raise PublishError(
            f"{request.user}/{request.version}/{card_name}: the hub client "
            f"could not load it ({error})"
        ) from error


def _update_listing(index: Path) -> bool:
    """Bring ``index.json`` up to date with the cards; whether it had to change."""
    listing = index / INDEX_FILE
    before = listing.read_bytes() if listing.is_file() else None
    return write_listing(index).read_bytes() != before


def _publish_weights(
    request: PublishRequest,
    weights: Path,
    *,
    uid: str,
    card_path: Path,
    card_name: str,
    model_name: str,
    meta: CheckpointMeta,
    num_classes: int,
) -> PublishResult:
    """Put ``weights`` (the file to publish) and its card into the index; called under the
    index's lock, so the temporaries of killed publishes can go first."""
    source = Path(request.checkpoint)
    for folder in (request.index, request.index / ASSETS_FOLDER, card_path.parent):
        remove_stale_temps(folder)
    digest = sha256_file(weights)
    size = weights.stat().st_size
    asset_name = f"{digest[:HASH_PREFIX_DIGITS]}_{card_name}.ckpt"
    asset_path = request.index / ASSETS_FOLDER / asset_name
    existing = _published_sha256(card_path)
    asset_digest = sha256_file(asset_path) if asset_path.is_file() else None
    if existing == digest and asset_digest == digest and request.int8 is None:
        return PublishResult(
            uid,
            card_path,
            asset_path,
            digest,
            changed=False,
            size=size,
            listing_updated=_update_listing(request.index),
        )
    if existing is not None and existing != digest and not request.force:
        raise PublishError(
            f"{card_path}: already publishes a different checkpoint "
            f"(sha256 {existing}); pass --force to replace it"
        )
    if asset_digest is not None and asset_digest != digest and not request.force:
        raise PublishError(f"{asset_path}: exists with different bytes; pass --force")

    names = meta.class_names or []
    metrics = read_metrics(source.parent / METRICS_FILE)
    link = f"{request.asset_base_url.rstrip('/')}/{asset_name}"
    assets = [CardAsset(file_format="ckpt", link=link, sha256=digest)]
    int8_copy = None
    if request.int8 is not None:
        int8_digest = _int8_digest(request.int8, model_name)
        int8_name = f"{int8_digest[:HASH_PREFIX_DIGITS]}_{card_name}_int8.onnx"
        assets.append(
            CardAsset(
                file_format="onnx",
                sha256=int8_digest,
                link=f"{request.asset_base_url.rstrip('/')}/{int8_name}",
            )
        )
        int8_copy = (request.int8, asset_path.with_name(int8_name))
    crop = IMAGENET_PREPROCESSING.at_size(meta.image_size).crop
    card = ModelCard(
        source=str(card_path),
        model_name=model_name,
        backbone_name="ghostnet",
        module_type="cv",
        fine_tunable=True,
        model_version=request.version,
        train_dataset=request.dataset,
        evaluation=request.evaluation or _evaluation(metrics),
        author=request.user,
        update_time=datetime.date.today().isoformat(),
        repo_link=request.repo_link,
        user_id=request.user,
        used_for=("inference", "transfer-learning"),
        mindspore_version=".".join(ms.__version__.split(".")[:2]),
        license="Apache2.0",
        summary=f"{model_name} fine-tuned on {request.dataset}",
        assets=tuple(assets),
        input_shape=(crop, crop, 3),
        infer_backend="cpu",
        preamble=f"# {card_name}",
        body=_body(uid, model_name, names, meta.image_size, metrics, num_classes, size),
    )
    text = render_card(card) + "\n"
    _check_card(parse_card(text, str(card_path)), request.local_dataset)  # before any write

    asset_path.parent.mkdir(parents=True, exist_ok=True)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    if asset_digest != digest:
        copy_file(weights, asset_path)
    if int8_copy is not None:
        copy_file(*int8_copy)
    write_text(card_path, text)
    return PublishResult(
        uid,
        card_path,
        asset_path,
        digest,
        changed=True,
        size=size,
        listing_updated=_update_listing(request.index),
    )


def _check_dataset(dataset: str, local: bool) -> None:
    """The hub's data set rule, for ``--dataset`` (any non-empty name when ``local``)."""
    if not dataset.strip() or not _name_part(dataset):
        raise PublishError(f"--dataset {dataset!r}: give the training data set's name")
    reason = None if local else dataset_problem(dataset)
    if reason:
        raise PublishError(
            f"--dataset (the card's train-dataset): {reason}. A project-local "
            "index may take another name with --local-dataset"
        )


def _check_card(card: ModelCard, local: bool) -> None:
    """The generated card against the hub's gate (its data set rule waived when ``local``)."""
    for field, reason in hub_problems(card):
        if not (local and field == "train-dataset"):
            raise CardError(card.source, reason, field)


def _name_part(dataset: str) -> str:
    """The data set as it appears in file names: lower case, with only letters, digits, ``.``
    and ``_`` kept (``Oxford-IIIT Pet`` is ``oxfordiiitpet``, as the hub's aliases write it)."""
    return _NOT_IN_NAMES.sub("", dataset.lower()).strip("._")


def _weights_only(
    params: ParamDict, meta: CheckpointMeta, model_name: str, source: Path, target: Path
) -> Tuple[Path, int]:
    """Write to ``target`` what inference and fine-tuning need: the network's parameters
    (restored strictly, so a checkpoint that does not fit fails here) and the arch, class
    names and image size; no optimizer state. Returns the path and the number of classes."""
    net = network_from_params(model_name, params, source=str(source))
    extra = meta_entries(meta.class_names, meta.image_size, model_name)
    ms.save_checkpoint(net, str(target), append_dict=extra)
    return target, int(net.num_classes)


def _model_name(name: Optional[str], recorded: Optional[str], source: Path) -> str:
    chosen = name if name is not None else recorded
    if chosen is None:
        raise PublishError(f"{source}: records no arch; pass --name (one of {', '.join(VARIANTS)})")
    if chosen.lower() not in VARIANTS:
        raise PublishError(
            f"--name {chosen!r}: the hub client builds the network from the "
            f"card's model-name, so it must be one of {', '.join(VARIANTS)}"
        )
    if recorded is not None and recorded != chosen.lower():
        raise PublishError(f"--name {chosen!r}: {source} was trained as {recorded!r}")
    return chosen.lower()


def _int8_digest(path: Path, model_name: str) -> str:
    """The sha256 of an int8 model file, once checked to be one of ``model_name``."""
    # pylint: disable=import-outside-toplevel
    from .onnx_model import ort_session, read_record

    try:
        record = read_record(ort_session(path, threads=1), str(path))
    except GhostnetHubError as error:
        raise PublishError(
            f"--int8 {path}: not an ONNX model of ghostnet quantize ({error})"
        ) from error
    if record.arch != model_name:
        raise PublishError(f"--int8 {path}: a model of {record.arch}, not {model_name}")
    return sha256_file(path)


def _check_part(label: str, part: str) -> None:
    if (
        not part
        or part.startswith(".")
        or any(c in part for c in "/\\:")
        or any(c.isspace() for c in part)
    ):
        raise PublishError(
            f"--{label} {part!r}: must be a single path part without '/', "
            "'\\', ':' or spaces, not starting with '.'"
        )


def _published_sha256(card_path: Path) -> Optional[str]:
    """The sha256 of the asset an existing card publishes, or None when there is no card."""
    if not card_path.is_file():
        return None
    try:
        card = load_card(card_path)
    except CardError as error:
        raise PublishError(
            f"{card_path}: an unreadable card is in the way ({error}); remove it or pass --force"
        ) from error
    return card.assets[0].sha256 if card.assets else ""


def _best(metrics: Sequence[Row]) -> Optional[Row]:
    return max(metrics, key=lambda row: row["val_top1"]) if metrics else None


def _evaluation(metrics: Sequence[Row]) -> Optional[str]:
    best = _best(metrics)
    if best is None:
        return None
    return f"top1acc{best['val_top1'] * 100:.2f} | top5acc{best['val_top5'] * 100:.2f}"


def _body(
    uid: str,
    model_name: str,
    names: Sequence[str],
    image_size: Optional[int],
    metrics: Sequence[Row],
    num_classes: int,
    size: int,
) -> str:
    sized = IMAGENET_PREPROCESSING.at_size(image_size)
    resize, crop = sized.resize, sized.crop
    mean = ", ".join(f"{m / 255:.3f}" for m in IMAGENET_PREPROCESSING.mean)
    std = ", ".join(f"{s / 255:.3f}" for s in IMAGENET_PREPROCESSING.std)
    lines: List[str] = [
        "## Usage",
        "",
        "With the MindSpore Hub client, which passes only your arguments to the network's",
        f"`create_network`, give the number of classes ({num_classes}):",
        "",
        "```python",
        "import mindspore_hub",
        "",
        f'net = mindspore_hub.load("{uid}", {num_classes})',
        "net.set_train(False)",
        "```",
        "",
        "With this module's client, which reads the number from the checkpoint:",
        "",
        "```python",
        "from ghostnet_hub import hub",
        "",
        f'net = hub.load("{uid}")',
        "```",
        "",
        f"Fine-tune it further with `ghostnet finetune --model {uid} ...`.",
        "",
        "## Checkpoint",
        "",
        f"{size:,} bytes ({size / 2**20:.1f} MiB): the network's parameters with its class "
        "names, image size and arch; no optimizer state.",
        "",
        "## Input preprocessing",
        "",
        f"Decode as RGB, resize the shorter side to {resize} pixels "
        f"({IMAGENET_PREPROCESSING.interpolation}), crop the central {crop}x{crop} square, "
        f"normalize with mean ({mean}) x 255 and std ({std}) x 255, then HWC to CHW.",
        "",
        "## Labels",
        "",
    ]
    if names:
        lines.append(f"{len(names)} classes; output index `i` is:")
        lines.append("")
        lines += [f"- `{index}` {name}" for index, name in enumerate(names)]
    else:
        lines.append("The checkpoint records no class names.")
    lines += ["", "## Metrics", ""]
    if metrics:
        best = _best(metrics)
        assert best is not None
        lines += [
            f"Best val top-1 {best['val_top1']:.4f} (epoch {int(best['epoch'])}), "
            f"from `{METRICS_FILE}` of the fine-tuning run:",
            "",
            "| epoch | train loss | val loss | val top-1 | val top-5 |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {int(r['epoch'])} | {r['train_loss']:.4f} | {r['val_loss']:.4f} | "
            f"{r['val_top1']:.4f} | {r['val_top5']:.4f} |"
            for r in metrics
        ]
    else:
        lines.append("No metrics.csv was found beside the checkpoint.")
    lines += [
        "",
        f"The network is `{model_name}` (this module's `create_network`), with a "
        f"{len(names) or 'checkpoint-sized'}-class head.",
    ]
    return "\n".join(lines)


def describe(result: PublishResult) -> str:
    """One line for the user: what was published, or that nothing changed."""
    if not result.changed:
        done = f"{INDEX_FILE} brought up to date" if result.listing_updated else "nothing to do"
        return (
            f"{result.uid}: already published with the same bytes (sha256 {result.sha256}); {done}"
        )
    return (
        f"{result.uid}: published {result.asset_path.name} ({result.size:,} bytes, "
        f"sha256 {result.sha256}); card {result.card_path}"
    )

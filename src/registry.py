"""What this module knows about its models and their weights, as data, in one place.

- :data:`VARIANTS`: every network ``create_network`` builds, by the lower-case name the hub
  client passes.
- :class:`WeightsRecord`: one set of weights and everything needed to use them (the
  network, where the file is and its sha256, the classes, the eval preprocessing, the names
  of the first conv and the classifier, the metrics), in the spirit of torchvision's
  ``Weights`` and timm's ``pretrained_cfg``. :data:`PUBLISHED` holds the records of the
  published weights; a record is also built from a checkpoint's own metadata
  (:meth:`WeightsRecord.with_checkpoint_meta`) and from a dict (:meth:`WeightsRecord.from_dict`,
  the export sidecar's format), and a network carries its record as ``net.pretrained_cfg``.
- The checkpoint metadata entries (:data:`ARCH_KEY`, :data:`CLASS_NAMES_KEY`, ...): what a
  checkpoint fine-tuned here says about itself besides its weights.
- The label lists shipped in ``assets/`` (``<name>_labels.tsv``).

Free of MindSpore, so that the ONNX Runtime path of ``predict`` can read all of it without
paying for MindSpore's import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import CheckpointError, LabelsError, UnknownModelError

FIRST_CONV = "conv_stem"
"""The module that sees the input image (its weight depends on ``in_channels``)."""
CLASSIFIER = "classifier"
"""The module replaced for fine-tuning (its shape depends on ``num_classes``)."""
CLASSIFIER_PARAMS = (f"{CLASSIFIER}.weight", f"{CLASSIFIER}.bias")

ARCH_KEY = "arch"
"""Checkpoint entry: the variant the weights belong to (a string)."""
CLASS_NAMES_KEY = "class_names"
"""Checkpoint entry: the label of each output, as a JSON list of strings."""
IMAGE_SIZE_KEY = "image_size"
"""Checkpoint entry: the crop the weights were trained and evaluated at (an int)."""
EPOCH_KEY = "epoch"
"""Checkpoint entry of a fine-tuning run: epochs fully trained when it was written."""
BEST_TOP1_KEY = "best_top1"
"""Checkpoint entry of a fine-tuning run: the best val top-1 so far."""
META_KEYS = frozenset({ARCH_KEY, CLASS_NAMES_KEY, IMAGE_SIZE_KEY, EPOCH_KEY, BEST_TOP1_KEY})
"""The entries of a checkpoint that describe it rather than hold the network's weights."""

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
"""Data files shipped inside the package (label lists)."""


@dataclass(frozen=True)
class Variant:
    """A named GhostNet variant: its width multiplier, whether it uses SE, a description, and
    its architecture table (``paper``, or ``ghostnet_600``: see ``LAYOUTS`` in
    :mod:`.ghostnet`)."""

    width: float
    use_se: bool
    description: str
    table: str = "paper"


VARIANTS: Dict[str, Variant] = {
    "ghostnet": Variant(1.0, True, "GhostNet 1.0x with SE (the published ImageNet model)"),
    "ghostnet_nose": Variant(1.0, False, "GhostNet 1.0x without squeeze-and-excitation"),
    "ghostnet_050": Variant(0.5, True, "GhostNet 0.5x with SE: half the widths, for small devices"),
    "ghostnet_130": Variant(1.3, True, "GhostNet 1.3x with SE: wider, more accurate"),
    "ghostnet_600": Variant(
        1.75,
        True,
        "GhostNet-600 (the model zoo's ghostnet_600m): h-swish, SE in every block, about 600M MACs",
        table="ghostnet_600",
    ),
}
"""Every model name this module builds, keyed by the lowercase name the hub client passes."""
MODEL_NAMES = tuple(VARIANTS)

ALIASES: Dict[str, str] = {"ghostnet-600": "ghostnet_600"}
"""Other spellings of a variant's name, accepted wherever a name is: the public hub's
GhostNet-600 card says ``GhostNet-600``, which its client lowercases."""


def variant_key(name: str) -> str:
    """``name`` lowercased (an alias resolved), once checked to be a variant.

    Raises:
        UnknownModelError: ``name`` is not in :data:`VARIANTS` (a ``ValueError``).
    """
    key = name.lower()
    key = ALIASES.get(key, key)
    if key not in VARIANTS:
        raise UnknownModelError(name, MODEL_NAMES)
    return key


def is_variant(name: str) -> bool:
    """Whether :func:`variant_key` takes ``name`` (any case, or an alias)."""
    try:
        variant_key(name)
    except UnknownModelError:
        return False
    return True


@dataclass(frozen=True)
class Preprocessing:
    """The eval transform a set of weights expects.

    Decode to RGB, resize the shorter side to ``resize`` (``interpolation``), center-crop
    ``crop``, subtract ``mean`` and divide by ``std`` (both on the 0-255 scale), HWC -> CHW.
    """

    resize: int = 256
    crop: int = 224
    interpolation: str = "bilinear"
    mean: Tuple[float, float, float] = (0.485 * 255, 0.456 * 255, 0.406 * 255)
    std: Tuple[float, float, float] = (0.229 * 255, 0.224 * 255, 0.225 * 255)

    def at_size(self, crop: Optional[int]) -> Preprocessing:
        """The same transform for a network trained at ``crop`` (None: this one): the resize
        keeps its ratio to the crop (256/224), so 32 gives resize 37."""
        if crop is None:
            return self
        return replace(self, resize=int(round(crop * self.resize / self.crop)), crop=crop)


IMAGENET_PREPROCESSING = Preprocessing()
"""The transform the published ImageNet weights were validated with in the model zoo; also
the default of networks trained here (scaled to their image size)."""


@dataclass(frozen=True)
class WeightsRecord:
    """One set of weights: which network, where the file is, and how to feed and read it."""

    arch: str
    """The variant (a key of :data:`VARIANTS`)."""
    num_classes: int = 1000
    class_names: Optional[Tuple[str, ...]] = None
    """The label of each output, when the weights name them."""
    label_list: Optional[str] = None
    """Else the name of a label list in ``assets/`` (``imagenet1k``) whose size fits."""
    preprocessing: Preprocessing = IMAGENET_PREPROCESSING
    first_conv: str = FIRST_CONV
    classifier: str = CLASSIFIER
    uid: Optional[str] = None
    """The hub uid of the card that publishes these weights."""
    url: Optional[str] = None
    sha256: Optional[str] = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    """Published accuracy, e.g. ``{"top1": 73.81, "top5": 91.77}`` (percent)."""

    def labels(self) -> List[str]:
        """The display label of each output: the record's own names, else the label list,
        else ``class N``. A name is shown by its first lemma (``"tabby, tabby cat"`` prints as
        ``tabby``), which keeps a comma-separated top-k line readable.

        Raises:
            LabelsError: the own names do not number :attr:`num_classes`, or the label list
                is unreadable.
        """
        if self.class_names is not None:
            if len(self.class_names) != self.num_classes:
                raise LabelsError(
                    f"{self.arch}: {len(self.class_names)} class names for "
                    f"{self.num_classes} outputs"
                )
            return list(self.class_names)
        if self.label_list is not None:
            names = read_label_list(self.label_list)
            if len(names) == self.num_classes:
                return [short_name(name) for _, name in names]
        return [f"class {index}" for index in range(self.num_classes)]

    def with_classes(self, num_classes: int) -> WeightsRecord:
        """This record for a network with a ``num_classes`` head: the names are kept only
        when the count is unchanged (a new head for fine-tuning has no names yet)."""
        if num_classes == self.num_classes:
            return self
        return replace(
            self,
            num_classes=num_classes,
            class_names=None,
            label_list=None,
            url=None,
            sha256=None,
            uid=None,
            metrics={},
        )

    def with_checkpoint_meta(
        self, meta: CheckpointMeta, *, num_classes: int, sha256: Optional[str] = None
    ) -> WeightsRecord:
        """This record refined by what a checkpoint says about itself: its head size, its
        class names and the image size it was trained at. A checkpoint whose digest is not
        the record's is another set of weights, so the published url and metrics go, and
        so does the label list: a 1000-class head is not ImageNet's unless its weights are
        (the published file, or a card that says it was trained on ImageNet)."""
        record = self.with_classes(num_classes)
        if sha256 is not None and sha256 != record.sha256:
            record = replace(record, url=None, uid=None, metrics={}, sha256=sha256, label_list=None)
        if meta.class_names is not None:
            record = replace(record, class_names=tuple(meta.class_names), label_list=None)
        return replace(record, preprocessing=record.preprocessing.at_size(meta.image_size))

    def to_dict(self) -> Dict[str, object]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        data = asdict(self)
        data["metrics"] = dict(self.metrics)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> WeightsRecord:
        """The record :meth:`to_dict` wrote.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """
        try:
            prep = data["preprocessing"]
            names = data.get("class_names")
            metrics = data.get("metrics") or {}
            if (
                not isinstance(prep, Mapping)
                or not isinstance(metrics, Mapping)
                or not isinstance(names, (list, tuple, type(None)))
            ):
                raise TypeError("preprocessing, metrics or class_names of the wrong type")
            return cls(
                arch=str(data["arch"]),
                num_classes=int(str(data["num_classes"])),
                class_names=None if names is None else tuple(str(n) for n in names),
                label_list=_optional_str(data.get("label_list")),
                preprocessing=Preprocessing(
                    resize=int(prep["resize"]),
                    crop=int(prep["crop"]),
                    interpolation=str(prep["interpolation"]),
                    mean=_triple(prep["mean"]),
                    std=_triple(prep["std"]),
                ),
                first_conv=str(data["first_conv"]),
                classifier=str(data["classifier"]),
                uid=_optional_str(data.get("uid")),
                url=_optional_str(data.get("url")),
                sha256=_optional_str(data.get("sha256")),
                metrics={str(k): float(v) for k, v in metrics.items()},
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a weights record ({error!r})") from error


def _optional_str(value: object) -> Optional[str]:
    return None if value is None else str(value)


def _triple(value: object) -> Tuple[float, float, float]:
    first, second, third = (float(v) for v in value)  # type: ignore[attr-defined]
    return (first, second, third)


PUBLISHED: Dict[str, WeightsRecord] = {
    "ghostnet": WeightsRecord(
        arch="ghostnet",
        num_classes=1000,
        label_list="imagenet1k",
        uid="mindspore/1.5/ghostnet_imagenet2012",
        url=(
            "https://download.mindspore.cn/models/r1.5/"
            "ghostnet_ascend_v150_imagenet2012_research_cv_top1acc73.81_top5acc91.77.ckpt"
        ),
        sha256="612f2fee612654057734283a50ff9eb9c967ee838c1b2f3b9b555e1689f53851",
        metrics={"top1": 73.81, "top5": 91.77},
    ),
}
"""Published weights by variant. Variants without an entry have no published weights."""


def published_record(arch: str) -> Optional[WeightsRecord]:
    """The record of ``arch``'s published weights, or None when there are none."""
    return PUBLISHED.get(arch.lower())


def base_record(arch: str, num_classes: int = 1000) -> WeightsRecord:
    """What is known about any weights of ``arch`` with a ``num_classes`` head before reading
    them: the published record's classes and preprocessing when the head fits (but not its
    file, digest or metrics: those belong to the published file only), else the default
    ImageNet-style preprocessing and numbered classes.

    Raises:
        UnknownModelError: ``arch`` is not a variant.
    """
    key = variant_key(arch)
    published = PUBLISHED.get(key)
    if published is None:
        return WeightsRecord(arch=key).with_classes(num_classes)
    anonymous = replace(published, uid=None, url=None, sha256=None, metrics={})
    return anonymous.with_classes(num_classes)


# --- what a checkpoint says about itself -------------------------------------------------


@dataclass(frozen=True)
class CheckpointMeta:
    """The metadata entries of a checkpoint; None where the checkpoint has none."""

    arch: Optional[str] = None
    class_names: Optional[List[str]] = None
    image_size: Optional[int] = None


def meta_entries(
    class_names: Optional[Sequence[str]] = None,
    image_size: Optional[int] = None,
    arch: Optional[str] = None,
) -> Dict[str, Union[str, int]]:
    """The ``append_dict`` entries (of ``mindspore.save_checkpoint``) that store metadata."""
    entries: Dict[str, Union[str, int]] = {}
    if arch is not None:
        entries[ARCH_KEY] = arch
    if class_names is not None:
        entries[CLASS_NAMES_KEY] = json.dumps(list(class_names), ensure_ascii=False)
    if image_size is not None:
        entries[IMAGE_SIZE_KEY] = int(image_size)
    return entries


def read_meta(params: Mapping[str, object], source: str) -> CheckpointMeta:
    """The metadata in a checkpoint's contents (as ``mindspore.load_checkpoint`` returns
    them: strings come back as ``str``, ints as scalar Parameters).

    Raises:
        CheckpointError: an entry exists but is malformed; names the checkpoint and entry.
    """
    arch = params.get(ARCH_KEY)
    if arch is not None and not isinstance(arch, str):
        raise CheckpointError(f"{source}: entry {ARCH_KEY!r} is not a string")
    return CheckpointMeta(
        arch=arch,
        class_names=_class_names(params.get(CLASS_NAMES_KEY), source),
        image_size=_image_size(params.get(IMAGE_SIZE_KEY), source),
    )


def scalar_entry(value: object) -> float:
    """A number stored by ``append_dict`` (a Parameter or Tensor once loaded, or a number)."""
    if hasattr(value, "asnumpy"):
        return float(value.asnumpy().reshape(-1)[0])
    return float(value)  # type: ignore[arg-type]


def _class_names(raw: object, source: str) -> Optional[List[str]]:
    if raw is None:
        return None
    try:
        names = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: entry {CLASS_NAMES_KEY!r} is not a JSON list of strings")
    return names


def _image_size(raw: object, source: str) -> Optional[int]:
    if raw is None:
        return None
    try:
        size = int(scalar_entry(raw))
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise CheckpointError(f"{source}: entry {IMAGE_SIZE_KEY!r} is not a positive int")
    return size


# --- label lists ---------------------------------------------------------------------------


@lru_cache(maxsize=None)
def read_label_list(name: str) -> Tuple[Tuple[str, str], ...]:
    """``(synset, name)`` for each class of ``assets/<name>_labels.tsv``, by class index.

    Raises:
        LabelsError: the file is missing or its rows are not ``index, synset, name`` in order.
    """
    path = ASSETS_DIR / f"{name}_labels.tsv"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabelsError(f"{path}: cannot read the label list ({error.strerror})") from error
    rows = []
    for number, line in enumerate(lines[1:]):
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] != str(number):
            raise LabelsError(f"{path}: line {number + 2} is not '{number}<TAB>synset<TAB>name'")
        rows.append((fields[1], fields[2]))
    return tuple(rows)


def short_name(name: str) -> str:
    """The first lemma of a WordNet name list: ``"tabby, tabby cat"`` -> ``"tabby"``."""
    return name.split(",")[0].strip()

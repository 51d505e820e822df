"""Image-folder data for fine-tuning: scanning, the train/val split, and the input pipelines.

An image folder holds one sub-folder per class, named after the class; classes are indexed
in sorted order of those names. ``DATA/train`` and ``DATA/val`` are used when both exist.
Without ``val/``, the images of ``DATA/train`` (or of ``DATA`` itself when it has no
``train/``) are split per class, deterministically from a seed; the split is returned as a
record that the caller writes beside its outputs.

Every image is opened once while scanning, so a broken file stops the run before training
and is named, rather than failing a worker in the middle of an epoch.

The pipelines are ``mindspore.dataset`` ones. The train augmentation is the MindSpore model
zoo's (random resized crop, horizontal flip, colour jitter), with the crop's smallest area
fraction suited to the image size (:func:`min_crop_scale`): a random-access source yields
the encoded bytes, and decoding and augmentation run as C++ ops on parallel workers. Without
augmentation, and always for validation, the images go through the package's one eval
transform (:class:`~.transforms.EvalTransform`, Pillow), the very function ``predict`` uses,
so the val accuracy of a run is measured on the pixels ``predict`` produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mindspore.dataset as ds
import mindspore.dataset.vision as vision
import numpy as np

from .errors import DatasetError, ImageError
from .registry import Preprocessing
from .transforms import IMAGE_SUFFIXES, EvalTransform, load_rgb

IMAGENET_CROP = 224
IMAGENET_MIN_CROP_SCALE = 0.08
"""The model zoo's random resized crop at ImageNet's 224 px: crops from 8 % of the area."""
SMALL_CROP = 32
SMALL_MIN_CROP_SCALE = 0.5
"""At 32 px and below, crops keep at least half the area (measured on the demo's digits,
docs/benchmarks.md: 0.08 there costs most of the accuracy that 0.5 keeps)."""
CROP_RATIO = (0.75, 1.333)
"""Aspect ratio range of the random resized crop."""
COLOR_JITTER = 0.4
"""Brightness, contrast and saturation jitter of the train augmentation."""

_INTERPOLATION = {
    "bilinear": vision.Inter.BILINEAR,
    "bicubic": vision.Inter.BICUBIC,
    "nearest": vision.Inter.NEAREST,
}

Sample = Tuple[Path, int]
"""An image file and its class index."""


@dataclass(frozen=True)
class ImageFolderData:
    """The scanned data of a run: class names, train and val samples, and how val was made."""

    classes: Tuple[str, ...]
    train: Tuple[Sample, ...]
    val: Tuple[Sample, ...]
    split: Optional[Dict[str, object]]
    """The record of a split made here (fraction, seed, file lists), or None when the data
    had its own ``val/``."""


def scan_class_folders(root: Path) -> Tuple[Tuple[str, ...], Tuple[Sample, ...]]:
    """The classes under ``root`` (sorted sub-folder names) and every image with its index.

    A class folder is searched recursively: ``cats/more/x.png`` is a ``cats`` image. Hidden
    files and folders are left out.

    Raises:
        DatasetError: ``root`` is not a folder, has fewer than two classes, a class folder
            holds no image, or an image cannot be decoded (the file is named).
    """
    if not root.is_dir():
        raise DatasetError(str(root), "not a folder")
    classes = tuple(
        sorted(
            entry.name
            for entry in root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
    )
    if not classes:
        raise DatasetError(
            str(root), "no class folders: expected one sub-folder of images per class"
        )
    if len(classes) == 1:
        raise DatasetError(
            str(root),
            f"only one class ({classes[0]!r}): classification needs at least two class folders",
        )
    samples: List[Sample] = []
    for index, name in enumerate(classes):
        folder = root / name
        images = sorted(
            path
            for path in folder.rglob("*")
            if path.suffix.lower() in IMAGE_SUFFIXES
            and path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )
        if not images:
            raise DatasetError(
                str(root / name),
                f"class folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})",
            )
        for path in images:
            _check_image(path)
            samples.append((path, index))
    return classes, tuple(samples)


def _check_image(path: Path) -> None:
    """Decode ``path`` fully, as ``predict`` would, so a truncated, non-image or oversized
    file is found before training rather than in the middle of an epoch."""
    try:
        load_rgb(path)
    except ImageError as error:
        raise DatasetError(str(path), f"unreadable image ({error.reason})") from error


def read_image_folder(data_dir: Path, val_split: float = 0.1, seed: int = 0) -> ImageFolderData:
    """Scan ``data_dir`` into train and val samples (see the module docstring for the layout).

    Args:
        data_dir: the image folder.
        val_split: fraction of each class held out for val when there is no ``val/``.
        seed: seed of that split.

    Raises:
        DatasetError: a bad folder (see :func:`scan_class_folders`), train and val with
            different classes, or a split that leaves a class without train or val images.
    """
    data_dir = Path(data_dir)
    train_dir, val_dir = data_dir / "train", data_dir / "val"
    if val_dir.is_dir():
        classes, train = scan_class_folders(train_dir)
        val_classes, val = scan_class_folders(val_dir)
        if val_classes != classes:
            only_train = sorted(set(classes) - set(val_classes))
            only_val = sorted(set(val_classes) - set(classes))
            raise DatasetError(
                str(data_dir),
                "train and val have different classes "
                f"(only in train: {only_train}, "
                f"only in val: {only_val})",
            )
        return ImageFolderData(classes, train, val, split=None)
    if not 0.0 < val_split < 1.0:
        raise DatasetError(
            str(data_dir), f"no val/ folder, and val split {val_split} is not a fraction in (0, 1)"
        )
    root = train_dir if train_dir.is_dir() else data_dir
    classes, samples = scan_class_folders(root)
    train, val = _split(samples, classes, root, val_split, seed)
    record: Dict[str, object] = {
        "root": str(root.resolve()),
        "val_split": val_split,
        "seed": seed,
        "classes": list(classes),
        "train": [str(path.relative_to(root)) for path, _ in train],
        "val": [str(path.relative_to(root)) for path, _ in val],
    }
    return ImageFolderData(classes, train, val, split=record)


def _split(
    samples: Sequence[Sample], classes: Sequence[str], root: Path, fraction: float, seed: int
) -> Tuple[Tuple[Sample, ...], Tuple[Sample, ...]]:
    """Hold out ``round(fraction * n)`` (at least one) images of each class, chosen by seed."""
    rng = np.random.default_rng(seed)
    train: List[Sample] = []
    val: List[Sample] = []
    for index, name in enumerate(classes):
        members = [sample for sample in samples if sample[1] == index]
        if len(members) < 2:
            raise DatasetError(
                str(root / name), "a class needs at least two images to be split into train and val"
            )
        held = max(1, int(round(fraction * len(members))))
        chosen = set(rng.permutation(len(members))[:held].tolist())
        for position, sample in enumerate(members):
            (val if position in chosen else train).append(sample)
    return tuple(train), tuple(val)


def min_crop_scale(crop: int) -> float:
    """The smallest area fraction the random resized crop takes at a ``crop``-pixel input.

    The model zoo's 8 % is an ImageNet recipe: at 224 px such a crop is still 63 px a side.
    The same fraction of a 32-px image is 9 px, stretched back to 32: an object becomes a
    few blurred pixels, or leaves the crop. So the fraction grows as the input shrinks, from
    :data:`IMAGENET_MIN_CROP_SCALE` at 224 px and above to :data:`SMALL_MIN_CROP_SCALE` at
    32 px and below, linearly in the logarithms of both in between (64 px: 0.26; 128 px:
    0.14)."""
    if crop >= IMAGENET_CROP:
        return IMAGENET_MIN_CROP_SCALE
    if crop <= SMALL_CROP:
        return SMALL_MIN_CROP_SCALE
    position = math.log(crop / SMALL_CROP) / math.log(IMAGENET_CROP / SMALL_CROP)
    return math.exp(
        math.log(SMALL_MIN_CROP_SCALE)
        + position * (math.log(IMAGENET_MIN_CROP_SCALE) - math.log(SMALL_MIN_CROP_SCALE))
    )


def train_transforms(
    preprocessing: Preprocessing, image_size: Optional[int], min_scale: Optional[float] = None
) -> List[object]:
    """Decode, the model zoo's train augmentation at ``image_size`` (random resized crop from
    ``min_scale`` of the area, :func:`min_crop_scale` when None; horizontal flip; colour
    jitter), normalise, HWC -> CHW."""
    crop = preprocessing.at_size(image_size).crop
    scale = (min_crop_scale(crop) if min_scale is None else min_scale, 1.0)
    return [
        vision.Decode(),
        vision.RandomResizedCrop(
            crop, scale=scale, ratio=CROP_RATIO, interpolation=_interpolation(preprocessing)
        ),
        vision.RandomHorizontalFlip(prob=0.5),
        vision.RandomColorAdjust(
            brightness=COLOR_JITTER, contrast=COLOR_JITTER, saturation=COLOR_JITTER
        ),
        vision.Normalize(mean=list(preprocessing.mean), std=list(preprocessing.std)),
        vision.HWC2CHW(),
    ]


def eval_transform(preprocessing: Preprocessing, image_size: Optional[int]) -> EvalTransform:
    """The eval transform of ``predict`` at ``image_size``: resize the shorter side,
    center-crop, normalise, HWC -> CHW."""
    return EvalTransform(preprocessing.at_size(image_size))


def _interpolation(preprocessing: Preprocessing) -> vision.Inter:
    try:
        return _INTERPOLATION[preprocessing.interpolation.lower()]
    except KeyError:
        raise ValueError(
            f"interpolation {preprocessing.interpolation!r} is not one of "
            f"{', '.join(_INTERPOLATION)}"
        ) from None


Pipeline = Union[List[object], EvalTransform]
"""What turns a file into a network input: ``mindspore.dataset`` ops applied to the encoded
bytes (:func:`train_transforms`), or the eval transform applied to the file."""


class _TransformedImages:
    """Random-access source of (eval-transformed image, class index)."""

    def __init__(self, samples: Sequence[Sample], transform: EvalTransform) -> None:
        self._samples = list(samples)
        self._transform = transform

    def __getitem__(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        path, label = self._samples[index]
        return self._transform(path), np.array(label, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._samples)


def _dataset(samples: Sequence[Sample], pipeline: Pipeline, workers: int) -> ds.Dataset:
    if isinstance(pipeline, EvalTransform):
        return ds.GeneratorDataset(
            _TransformedImages(samples, pipeline),
            ["image", "label"],
            shuffle=False,
            num_parallel_workers=workers,
            python_multiprocessing=False,
        )
    dataset = ds.GeneratorDataset(_EncodedImages(samples), ["image", "label"], shuffle=False)
    return dataset.map(pipeline, input_columns="image", num_parallel_workers=workers)


class _EncodedImages:
    """Random-access source of (encoded file bytes, class index); decoding happens in ``map``."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self._samples = list(samples)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        path, label = self._samples[index]
        return np.fromfile(str(path), dtype=np.uint8), np.array(label, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._samples)


def epoch_order(
    num_samples: int, epoch: int, seed: int, batch_size: int, num_shards: int = 1, shard_id: int = 0
) -> np.ndarray:
    """The sample indices one shard trains on in ``epoch``: a seeded shuffle of the whole
    set, cut to whole global batches, then every ``num_shards``-th index from ``shard_id``.

    Every rank computes the same permutation, so the shards are disjoint and each global
    batch (the ranks' step-``k`` batches together) is the single-process step-``k`` batch of
    size ``batch_size * num_shards``. Every shard has the same number of full batches.
    """
    if not 0 <= shard_id < num_shards:
        raise ValueError(f"shard_id must be in 0..{num_shards - 1}, got {shard_id}")
    order = np.random.default_rng([seed, epoch]).permutation(num_samples)
    global_batch = batch_size * num_shards
    order = order[: len(order) // global_batch * global_batch]
    return order[shard_id::num_shards]


def steps_per_epoch(num_samples: int, batch_size: int, num_shards: int = 1) -> int:
    """Full batches per epoch on each shard (the train loader drops the remainder)."""
    return num_samples // (batch_size * num_shards)


def train_dataset(
    samples: Sequence[Sample],
    pipeline: Pipeline,
    batch_size: int,
    *,
    epoch: int,
    seed: int,
    num_shards: int = 1,
    shard_id: int = 0,
    skip_batches: int = 0,
    workers: int = 2,
) -> ds.Dataset:
    """One epoch of shuffled, augmented train batches for one shard.

    Args:
        samples: all train samples (every rank passes the same list).
        pipeline: :func:`train_transforms` (augmented), or :func:`eval_transform` for
            deterministic inputs (``--no-augment``, and the data-parallel test).
        batch_size: images per batch on this shard; the remainder is dropped.
        epoch, seed: pick the shuffle, and seed the random augmentation.
        num_shards, shard_id: data-parallel sharding (see :func:`epoch_order`).
        skip_batches: leave out the first batches of the epoch (resuming mid-epoch).
        workers: parallel workers for decoding and augmentation.
    """
    order = epoch_order(len(samples), epoch, seed, batch_size, num_shards, shard_id)
    order = order[skip_batches * batch_size :]
    ds.config.set_seed(int(seed * 100_003 + epoch * 101 + shard_id) % (2**31))
    chosen = [samples[int(index)] for index in order]
    return _dataset(chosen, pipeline, workers).batch(batch_size, drop_remainder=True)


def eval_dataset(
    samples: Sequence[Sample], transform: EvalTransform, batch_size: int, *, workers: int = 2
) -> ds.Dataset:
    """Eval batches in file order, through ``predict``'s transform: not shuffled, and the
    last partial batch kept."""
    return _dataset(samples, transform, workers).batch(batch_size, drop_remainder=False)

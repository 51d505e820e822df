"""Train only what is not frozen: the frozen part's outputs, computed on the inference path
and cached per image.

With ``--freeze-backbone`` or ``--freeze-stages N`` a GhostNet splits into a frozen prefix
(the stem and the first ``N`` stages, or, for the backbone, everything up to the pooled
1,280 features after ``conv_head``) and the trained rest. Nothing in the prefix learns, so a
train step has no reason to run it through MindSpore's training graph, whose CPU kernels are
the slow part of fine-tuning (see docs/benchmarks.md):

- the prefix is exported once to ONNX and run by ONNX Runtime (:mod:`.export`,
  :class:`~.predictor.OrtRunner`), after checking that the export gives the MindSpore
  forward's numbers on a probe batch; without onnxruntime, or when the check fails, the
  prefix runs as a compiled MindSpore forward instead;
- the train step (:class:`TrainedRest`) starts from the prefix's output;
- with augmentation off, every train and val image gives the same prefix output at every
  epoch, so it is computed once and cached (:class:`FeatureCache`): under the run folder,
  keyed by the image's sha256 and a digest of the frozen weights, so a changed image or
  checkpoint can never reuse a stale entry, and a resumed or repeated run reuses the rest.

The frozen part runs in inference mode: its BatchNorm layers use their running statistics
and never update them. That is what frozen means (the statistics are weights the run does
not train), and it is what makes its output a function of the image alone; with batch
statistics it would change with every batch's other images, and no cache could hold it.

With augmentation on, each step draws a new random crop, flip and colour jitter of every
image, so the prefix's output is new at every step and a cache would never hit
(:data:`AUGMENTED_NO_CACHE` says so to the user). The prefix still runs on the inference
path, batch by batch; only the validation images, which always go through the eval
transform, are cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mindspore import Tensor, nn, ops

from .atomic import atomic_path, write_text
from .data import Sample, epoch_order
from .download import sha256_file
from .errors import BackendError
from .ghostnet import GhostNet, build_ghostnet
from .optim import STEM_PREFIXES, stage_prefixes
from .predictor import MindSporeRunner, OrtRunner
from .transforms import EvalTransform

FEATURE_CACHE_DIR = "feature-cache"
"""Folder of the run's output that holds the cached prefix outputs."""
CACHE_VERSION = 1
"""Part of every cache key: bump it when the meaning of a cached array changes."""
HEAD_PREFIXES = ("conv_head.",)
"""Parameters of the head that a frozen backbone freezes too (all but the classifier)."""
EXPORT_TOLERANCE = 1e-4
"""Largest difference between the ONNX Runtime and MindSpore prefix outputs on the probe
batch, relative to the largest output magnitude, for the export to be used."""
AUGMENTED_NO_CACHE = (
    "frozen part: outputs not cached for training, because augmentation draws a new crop, "
    "flip and colour jitter of every image at every step, so the frozen part's output is "
    "new each time; it runs on the inference path batch by batch instead (val images, "
    "which are not augmented, are cached). --no-augment caches them all."
)

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Boundary:
    """Where the frozen prefix of a GhostNet ends."""

    blocks: int
    """How many of ``net.blocks`` the prefix runs, after the stem."""
    head: bool
    """Whether the prefix also pools and runs ``conv_head`` (a frozen backbone): its output
    is then the pre-logits vector, and only dropout and the classifier train."""

    def parameter_prefixes(self) -> Tuple[str, ...]:
        """Name prefixes of the prefix's parameters (and BatchNorm statistics)."""
        blocks = tuple(f"blocks.{index}." for index in range(self.blocks))
        return STEM_PREFIXES + blocks + (HEAD_PREFIXES if self.head else ())


def frozen_boundary(net: GhostNet, *, backbone: bool, stages: int) -> Optional[Boundary]:
    """The prefix that ``--freeze-backbone`` (``backbone``) or ``--freeze-stages stages``
    freezes (the same parameters as :func:`.optim.freeze`), or None when nothing is."""
    if backbone:
        return Boundary(blocks=len(net.blocks), head=True)
    if stages:
        last = stage_prefixes(net)[stages - 1][-1]  # "blocks.N." of the stage's last block
        return Boundary(blocks=int(last.split(".")[1]) + 1, head=False)
    return None


class FrozenPrefix(nn.Cell):
    """The frozen prefix of ``net`` as a network of its own: image in, prefix output out."""

    def __init__(self, net: GhostNet, boundary: Boundary) -> None:
        super().__init__(auto_prefix=False)  # keep the network's parameter names
        self.net = net
        self.stop = boundary.blocks
        self.head = boundary.head

    def construct(self, x: Tensor) -> Tensor:
        x = self.net.act1(self.net.bn1(self.net.conv_stem(x)))
        for index, block in enumerate(self.net.blocks):
            if index < self.stop:
                x = block(x)
        if self.head:  # pool and conv_head, as forward_head; kept 4-D for the ONNX export
            x = self.net.act2(self.net.conv_head(ops.mean(x, (2, 3), keep_dims=True)))
        return x


class TrainedRest(nn.Cell):
    """The trained rest of ``net``: from the prefix's output to the logits.

    It holds the whole network (under the network's own parameter names), so a train step
    built on it saves and restores the same checkpoint as one built on the network.
    """

    def __init__(self, net: GhostNet, boundary: Boundary) -> None:
        super().__init__(auto_prefix=False)
        self.net = net
        self.start = boundary.blocks
        self.head_frozen = boundary.head

    def construct(self, x: Tensor) -> Tensor:
        if self.head_frozen:
            return self.net.classifier(self.net.dropout(x.reshape(x.shape[0], -1)))
        for index, block in enumerate(self.net.blocks):
            if index >= self.start:
                x = block(x)
        return self.net.forward_head(x)


def frozen_digest(net: GhostNet, boundary: Boundary) -> str:
    """sha256 of the prefix's weights and BatchNorm statistics (names, shapes and bytes):
    what its outputs depend on besides the image, whichever checkpoint they came from."""
    hasher = hashlib.sha256()
    prefixes = boundary.parameter_prefixes()
    for param in sorted(net.get_parameters(), key=lambda p: p.name):
        if param.name.startswith(prefixes):
            value = np.ascontiguousarray(param.asnumpy())
            hasher.update(f"{param.name}:{value.dtype}:{value.shape};".encode())
            hasher.update(value.tobytes())
    return hasher.hexdigest()


def copy_prefix(net: GhostNet, arch: str, boundary: Boundary) -> FrozenPrefix:
    """An eval-mode :class:`FrozenPrefix` over a copy of ``net``'s weights.

    A copy, because switching a cell to inference mode switches every cell under it: the
    prefix of the training network itself would flip the training network's mode.
    """
    copy = build_ghostnet(arch, num_classes=net.num_classes, initialize=False)
    values = {param.name: param for param in net.get_parameters()}
    for param in copy.get_parameters():
        param.set_data(Tensor(values[param.name].asnumpy()))
    prefix = FrozenPrefix(copy, boundary)
    prefix.set_train(False)
    return prefix


def prefix_runner(
    prefix: FrozenPrefix, folder: Path, *, batch_size: int, image_size: int
) -> Tuple[Runner, str]:
    """A function from image batches to prefix outputs, and which engine it runs on.

    ONNX Runtime when onnxruntime is installed and its export of the prefix (kept in
    ``folder``) matches the MindSpore forward within :data:`EXPORT_TOLERANCE` on a probe
    batch; a compiled MindSpore forward otherwise.
    """
    mindspore_runner = MindSporeRunner(prefix, batch_size)
    model = folder / "prefix.ort.onnx"
    checked = folder / "prefix.checked.json"
    try:
        if not (model.is_file() and checked.is_file()):
            # pylint: disable=import-outside-toplevel
            from .export import export_optimized_onnx

            export_optimized_onnx(prefix, model, image_size=image_size)
            probe = (
                np.random.default_rng(0)
                .normal(size=(batch_size, 3, image_size, image_size))
                .astype(np.float32)
            )
            difference = export_difference(
                OrtRunner(model, batch_size)(probe), mindspore_runner(probe)
            )
            if difference > EXPORT_TOLERANCE:
                model.unlink()
                return mindspore_runner, (
                    f"MindSpore (the ONNX export differed by "
                    f"{difference:.1e}, over {EXPORT_TOLERANCE:.0e})"
                )
            write_text(checked, json.dumps({"relative_difference": difference}) + "\n")
        return OrtRunner(model, batch_size), "ONNX Runtime"
    except BackendError as error:  # no onnxruntime, or an export it cannot take
        return mindspore_runner, f"MindSpore ({error})"


def export_difference(exported: np.ndarray, reference: np.ndarray) -> float:
    """Largest absolute difference, relative to the reference's largest magnitude."""
    scale = max(float(np.abs(reference).max()), 1e-12)
    return float(np.abs(exported - reference).max()) / scale


class FeatureCache:
    """The prefix's outputs for image files, computed in batches and kept as one ``.npy``
    file per image (named by its sha256) in ``folder``, which the caller names after the
    frozen weights (:func:`cache_key`).

    Args:
        folder: where the arrays go.
        runner: image batch -> prefix output batch.
        transform: file -> network input (the eval transform).
        batch_size: images per runner call.
    """

    def __init__(
        self, folder: Path, runner: Runner, transform: EvalTransform, batch_size: int
    ) -> None:
        self.folder = folder
        self.runner = runner
        self.transform = transform
        self.batch_size = batch_size
        self.computed = 0
        """Images whose output this cache computed (misses), for reports and tests."""
        self._sha: Dict[Path, str] = {}
        self._memory: Dict[str, np.ndarray] = {}

    def image_sha256(self, path: Path) -> str:
        """The sha256 of ``path``'s bytes, hashed once per run."""
        if path not in self._sha:
            self._sha[path] = sha256_file(path)
        return self._sha[path]

    def outputs(self, paths: Sequence[Path]) -> np.ndarray:
        """The prefix outputs of ``paths``, stacked in order; misses are computed first."""
        keys = [self.image_sha256(path) for path in paths]
        missing: Dict[str, Path] = {}
        for key, path in zip(keys, paths):
            if key not in self._memory and key not in missing:
                stored = self.folder / f"{key}.npy"
                if stored.is_file():
                    self._memory[key] = np.load(stored)
                else:
                    missing[key] = path
        pending = list(missing.items())
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start : start + self.batch_size]
            images = np.stack([self.transform(path) for _, path in chunk])
            for (key, _), output in zip(chunk, self.runner(images)):
                with (
                    atomic_path(self.folder / f"{key}.npy") as temporary,
                    open(temporary, "wb") as stream,
                ):  # a path would get ".npy" appended
                    np.save(stream, output)
                self._memory[key] = output
                self.computed += 1
        return np.stack([self._memory[key] for key in keys])


def cache_key(digest: str, boundary: Boundary, transform: EvalTransform) -> Dict[str, object]:
    """What a cached output depends on: the frozen weights, the boundary and the transform."""
    return {
        "version": CACHE_VERSION,
        "frozen_weights_sha256": digest,
        "boundary": asdict(boundary),
        "preprocessing": asdict(transform.preprocessing),
    }


class FrozenPart:
    """The frozen prefix of a fine-tuning run: its trained rest, its runner and its cache.

    Built before the train step (the step trains :attr:`rest`); :meth:`prepare` runs once
    the weights are final (after a resume restored them), before the first batch.

    Args:
        net: the network being fine-tuned, already frozen by :func:`.optim.freeze`.
        arch: its variant.
        boundary: what is frozen.
        output: the run's folder; the cache goes under ``output/feature-cache``.
        batch_size: the run's batch size (the prefix runs on batches of it).
        transform: the eval transform (val, and train without augmentation).
        augment: whether training images are augmented (then they are not cached).
    """

    def __init__(
        self,
        net: GhostNet,
        arch: str,
        boundary: Boundary,
        output: Path,
        *,
        batch_size: int,
        transform: EvalTransform,
        augment: bool,
    ) -> None:
        self.net, self.arch, self.boundary = net, arch, boundary
        self.output, self.batch_size = output, batch_size
        self.transform, self.augment = transform, augment
        self.rest = TrainedRest(net, boundary)
        self.cache: Optional[FeatureCache] = None
        self.engine = ""

    def prepare(self) -> FeatureCache:
        """Digest the frozen weights, set up the prefix's runner and open the cache."""
        if self.cache is None:
            key = cache_key(frozen_digest(self.net, self.boundary), self.boundary, self.transform)
            name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
            folder = self.output / FEATURE_CACHE_DIR / name
            folder.mkdir(parents=True, exist_ok=True)
            write_text(folder / "key.json", json.dumps(key, indent=1) + "\n")
            prefix = copy_prefix(self.net, self.arch, self.boundary)
            runner, self.engine = prefix_runner(
                prefix, folder, batch_size=self.batch_size, image_size=self.transform.input_shape[1]
            )
            self.cache = FeatureCache(folder, runner, self.transform, self.batch_size)
            print(
                f"frozen part: runs on {self.engine}; outputs cached in {folder}"
                + ("" if not self.augment else f"\n{AUGMENTED_NO_CACHE}"),
                flush=True,
            )
        return self.cache

    def train_batches(
        self,
        samples: Sequence[Sample],
        *,
        epoch: int,
        seed: int,
        num_shards: int,
        shard_id: int,
        skip_batches: int,
    ) -> Iterator[Tuple[Tensor, Tensor]]:
        """One epoch of (prefix output, label) batches from the cache, in the order and
        sharding of :func:`.data.train_dataset` (augmentation off)."""
        cache = self.prepare()
        order = epoch_order(len(samples), epoch, seed, self.batch_size, num_shards, shard_id)
        order = order[skip_batches * self.batch_size :]
        for start in range(0, len(order), self.batch_size):
            chosen = [samples[int(index)] for index in order[start : start + self.batch_size]]
            outputs = cache.outputs([path for path, _ in chosen])
            labels = np.array([label for _, label in chosen], np.int32)
            yield Tensor(outputs), Tensor(labels)

    def map_images(
        self, batches: Iterator[Tuple[Tensor, Tensor]]
    ) -> Iterator[Tuple[Tensor, Tensor]]:
        """(prefix output, label) for each (augmented image, label) batch: not cached."""
        cache = self.prepare()
        for images, labels in batches:
            yield Tensor(cache.runner(images.asnumpy())), labels

    def logits(self, samples: Sequence[Sample]) -> np.ndarray:
        """Eval-mode logits of ``samples`` (val): cached prefix outputs through the rest."""
        cache = self.prepare()
        self.rest.set_train(False)
        logits: List[np.ndarray] = []
        for start in range(0, len(samples), self.batch_size):
            chunk = samples[start : start + self.batch_size]
            outputs = cache.outputs([path for path, _ in chunk])
            logits.append(self.rest(Tensor(outputs)).asnumpy())
        return np.concatenate(logits)


def frozen_part(
    net: GhostNet,
    arch: str,
    *,
    backbone: bool,
    stages: int,
    output: Path,
    batch_size: int,
    transform: EvalTransform,
    augment: bool,
) -> Optional[FrozenPart]:
    """The :class:`FrozenPart` of a run that freezes something, else None."""
    boundary = frozen_boundary(net, backbone=backbone, stages=stages)
    if boundary is None:
        return None
    return FrozenPart(
        net, arch, boundary, output, batch_size=batch_size, transform=transform, augment=augment
    )

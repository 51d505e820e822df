"""Classify image files with a resolved model on the chosen backend, in batches.

The backend is picked once: ``onnxruntime`` (the fast CPU path, used by ``auto`` whenever
onnxruntime is installed) or ``mindspore`` in graph mode. The ONNX Runtime path looks up the
export cache first; when the export is there, nothing here imports MindSpore. Only a cache
miss (or the MindSpore backend) loads the checkpoint with MindSpore. A self-describing ONNX
model file (``ghostnet quantize``'s int8 output) runs as it is, on ONNX Runtime only.

MindSpore runs a graph compiled for one batch shape: a shorter last batch is padded with
zeros to it (:func:`pad_batch`) and the padding's outputs dropped, so the graph compiles
once. PyNative MindSpore would run each operator from Python and is several times slower,
hence ``mindspore.jit``. The ONNX export has a free batch axis (see :mod:`.export`): one
export serves every batch size, and each batch runs at its own size. The ONNX file is
already optimised, so ONNX Runtime loads it without running its optimiser again, which
keeps the cold start short.

Images are decoded one by one; one that fails becomes a :class:`Prediction` with an error
and the batch goes on. Results come back in input order.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import (
    BackendError,
    ImageError,
    ModelSpecError,
    NonFiniteOutputError,
)
from .export import export_entry
from .numerics import non_finite_rows
from .onnx_model import ONNX_SUFFIX, OnnxFileRunner, load_model_file, ort_session
from .registry import WeightsRecord, base_record, read_meta
from .transforms import MAX_PIXELS, EvalTransform, Input
from .weights import ResolvedWeights

if TYPE_CHECKING:  # MindSpore is imported only where a network is really loaded
    from mindspore import nn

LOGGER = logging.getLogger(__name__)
BACKENDS = ("auto", "mindspore", "onnxruntime")

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Prediction:
    """The top-k classes of one input as ``(index, label, probability)``, or its error."""

    image: str
    top: Tuple[Tuple[int, str, float], ...] = ()
    error: Optional[str] = None


def choose_backend(name: str) -> str:
    """The concrete backend for ``--backend name``: ``auto`` prefers onnxruntime.

    Raises:
        BackendError: ``onnxruntime`` asked for but not installed, or an unknown name.
    """
    has_ort = importlib.util.find_spec("onnxruntime") is not None
    if name == "auto":
        return "onnxruntime" if has_ort else "mindspore"
    if name == "onnxruntime" and not has_ort:
        raise BackendError(
            "--backend onnxruntime needs onnxruntime: pip install 'ghostnet-hub[onnx]'"
        )
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


class Predictor:
    """A model loaded on one backend for batches of up to ``batch_size`` images.

    Args:
        spec: the resolved weights.
        backend: ``mindspore`` or ``onnxruntime`` (see :func:`choose_backend`).
        batch_size: images per forward pass (on MindSpore the last batch is padded to it).
        cache_dir: the hub cache root, where exports of non-hub checkpoints go.
        max_pixels: decompression-bomb cap for each input image.

    Raises:
        BackendError: the backend cannot load or export the model.
        CheckpointError: the checkpoint does not fit ``spec.arch``.
    """

    def __init__(
        self,
        spec: ResolvedWeights,
        *,
        backend: str,
        batch_size: int,
        cache_dir: Path,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.spec = spec
        self.backend = backend
        self.batch_size = batch_size
        self._run: Runner
        if spec.checkpoint.suffix.lower() == ONNX_SUFFIX:
            if backend != "onnxruntime":
                raise BackendError(f"{spec.source}: an ONNX model runs on onnxruntime only")
            self.record, self._run = load_model_file(spec.checkpoint)
        elif backend == "onnxruntime":
            self.record, self._run = _onnxruntime(spec, batch_size, cache_dir)
        elif backend == "mindspore":
            self.record, self._run = _mindspore(spec, batch_size)
        else:
            raise BackendError(f"unknown backend {backend!r}")
        self.labels = self.record.labels()
        self.transform = EvalTransform(self.record.preprocessing, max_pixels=max_pixels)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Raw logits for up to ``batch_size`` preprocessed images."""
        return self._run(images)

    def predict(self, inputs: Iterable[Input], topk: int) -> Iterator[Prediction]:
        """Predictions for ``inputs``, in order, one per input.

        Raises:
            NonFiniteOutputError: the model's outputs for a batch hold NaN or infinities;
                no probability of that batch is given.
        """
        pending: List[Tuple[str, Optional[np.ndarray], Optional[str]]] = []
        loaded = 0
        for item in inputs:
            if item.error is not None:
                pending.append((item.path, None, item.error))
                continue
            try:
                pending.append((item.path, self.transform(item.path), None))
                loaded += 1
            except ImageError as error:
                LOGGER.debug("%s: %s", item.path, error.reason, exc_info=True)  # for --debug
                pending.append((item.path, None, error.reason))
            if loaded == self.batch_size:
                yield from self._flush(pending, topk)
                pending, loaded = [], 0
        yield from self._flush(pending, topk)

    def _flush(
        self, pending: Sequence[Tuple[str, Optional[np.ndarray], Optional[str]]], topk: int
    ) -> Iterator[Prediction]:
        arrays = [array for _, array, _ in pending if array is not None]
        logits = self._run(np.stack(arrays)) if arrays else np.zeros((0, 1), np.float32)
        bad = non_finite_rows(logits)
        if len(bad):
            images = [path for path, array, _ in pending if array is not None]
            shown = ", ".join(images[int(row)] for row in bad[:3])
            raise NonFiniteOutputError(
                f"{self.spec.source}: the model gives non-finite outputs (NaN or infinity) for "
                f"{len(bad)} input(s) ({shown}{', ...' if len(bad) > 3 else ''}); its weights "
                "are broken, as after a diverged training run"
            )
        probs = iter(softmax(logits))
        for path, array, error in pending:
            if array is None:
                yield Prediction(image=path, error=error)
            else:
                yield Prediction(image=path, top=top_k(next(probs), self.labels, topk))


def top_k(probs: np.ndarray, labels: Sequence[str], k: int) -> Tuple[Tuple[int, str, float], ...]:
    """The ``k`` most probable classes of one row, as (index, label, probability), most
    probable first; ties keep the lower index first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return tuple((int(i), labels[int(i)], float(probs[i])) for i in order)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def pad_batch(images: np.ndarray, batch_size: int) -> np.ndarray:
    """``images`` ``(n, ...)`` as a float32 ``(batch_size, ...)`` array, zero rows after n.

    Raises:
        ValueError: ``n`` is 0 or larger than ``batch_size``.
    """
    count = len(images)
    if not 0 < count <= batch_size:
        raise ValueError(f"expected 1 to {batch_size} images, got {count}")
    if count == batch_size:
        return np.ascontiguousarray(images, dtype=np.float32)
    padded = np.zeros((batch_size,) + images.shape[1:], np.float32)
    padded[:count] = images
    return padded


class OrtRunner:
    """Logits of batches of up to ``batch_size`` images through an ONNX model, on all CPU
    cores (free of MindSpore): :class:`~.onnx_model.OnnxFileRunner` over a session for an
    already optimised file, so a free batch axis runs each batch as it comes.

    Raises:
        BackendError: onnxruntime is missing or cannot load the model.
    """

    def __init__(self, model: Path, batch_size: int, threads: int = 0) -> None:
        session = ort_session(model, threads, optimize=False)
        self._run = OnnxFileRunner(session)
        self.batch_size = batch_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(n, classes)`` for ``images`` ``(n, 3, H, W)``, ``n <= batch_size``."""
        if not 0 < len(images) <= self.batch_size:
            raise ValueError(f"expected 1 to {self.batch_size} images, got {len(images)}")
        return np.asarray(self._run(images))


class MindSporeRunner:
    """Logits of fixed-size batches through ``net`` compiled with ``mindspore.jit``.

    Args:
        net: a network in eval mode.
        batch_size: the compiled batch size; calls may pass fewer images.
    """

    def __init__(self, net: "nn.Cell", batch_size: int) -> None:
        import mindspore  # pylint: disable=import-outside-toplevel

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        net.set_train(False)
        self.batch_size = batch_size
        self._tensor = mindspore.Tensor
        self._forward = mindspore.jit(net.construct)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(n, classes)`` for ``images`` ``(n, 3, H, W)``, ``n <= batch_size``."""
        batch = pad_batch(images, self.batch_size)
        return np.asarray(self._forward(self._tensor(batch)).asnumpy())[: len(images)]


def _onnxruntime(
    spec: ResolvedWeights, batch_size: int, cache_dir: Path
) -> Tuple[WeightsRecord, Runner]:
    entry = export_entry(spec, cache_dir)
    record = entry.record()
    if record is None:  # cache miss: the only step of this path that needs MindSpore
        from .export import export_optimized_onnx  # pylint: disable=import-outside-toplevel

        net, record = load_network(spec)
        print(
            f"exporting to ONNX (once for this checkpoint, any batch size; cached in "
            f"{entry.model.parent})",
            file=sys.stderr,
            flush=True,
        )
        export_optimized_onnx(net, entry.model, image_size=record.preprocessing.crop)
        entry.write_sidecar(record)
    return record, OrtRunner(entry.model, batch_size)


def _mindspore(spec: ResolvedWeights, batch_size: int) -> Tuple[WeightsRecord, Runner]:
    net, record = load_network(spec)
    return record, MindSporeRunner(net, batch_size)


def load_network(spec: ResolvedWeights) -> Tuple["nn.Cell", WeightsRecord]:
    """The restored eval-mode network of ``spec`` and the record of its weights (MindSpore):
    the checkpoint is read once, for its weights and its metadata (class names and the image
    size it was trained at), which refine ``spec.record``.

    Raises:
        CheckpointError: the checkpoint is unreadable or does not fit ``spec.arch``.
        UnstableWeightsError: the weights hold NaN or infinities, or exploded BatchNorm
            statistics (see :mod:`.numerics`).
        UnknownModelError: ``spec.arch`` is not a GhostNet variant.
        ModelSpecError: the checkpoint records another architecture than the one named, or
            none was named and it records none.
    """
    # pylint: disable=import-outside-toplevel
    from .factory import network_from_params
    from .foreign import load_foreign_params

    _, params = load_foreign_params(spec.checkpoint)
    arch, known = spec.arch, spec.record
    if not spec.arch_known:  # a .ckpt named without --arch: the one it records
        recorded = read_meta(params, str(spec.checkpoint)).arch
        if recorded is None:
            raise ModelSpecError(
                f"{spec.source}: the checkpoint does not record its "
                "architecture; pass --arch NAME (for example --arch ghostnet)"
            )
        arch, known = recorded, base_record(recorded)
    net = network_from_params(
        arch, params, source=str(spec.checkpoint), record=known, sha256=spec.sha256
    )
    record = net.pretrained_cfg
    assert record is not None  # network_from_params always sets it
    return net, record

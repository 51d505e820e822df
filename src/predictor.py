"""Classify image files with a resolved model on the chosen backend, in batches.

The backend is picked once: ``onnxruntime`` (the fast CPU path, used by ``auto`` whenever
onnxruntime is installed) or ``mindspore`` in graph mode. The ONNX Runtime path looks up the
export cache first; when the export is there, nothing here imports MindSpore. Only a cache
miss (or the MindSpore backend) loads the checkpoint with MindSpore.

Images are decoded one by one; one that fails becomes a :class:`Prediction` with an error
and the batch goes on. Results come back in input order.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import BackendError, ImageError
from .export_cache import export_entry
from .image_files import Input
from .model_spec import ModelInterface, ModelSpec
from .transforms import MAX_PIXELS, EvalTransform

if TYPE_CHECKING:  # MindSpore is imported only where a network is really loaded
    from mindspore import nn

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
        raise BackendError("--backend onnxruntime needs onnxruntime: "
                           "pip install 'ghostnet-hub[onnx]'")
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


class Predictor:
    """A model loaded on one backend for a fixed batch size.

    Args:
        spec: the resolved model.
        backend: ``mindspore`` or ``onnxruntime`` (see :func:`choose_backend`).
        batch_size: images per forward pass; the last batch is padded to it.
        cache_dir: the hub cache root, where exports of non-hub checkpoints go.
        max_pixels: decompression-bomb cap for each input image.

    Raises:
        BackendError: the backend cannot load or export the model.
        CheckpointError: the checkpoint does not fit ``spec.arch``.
    """

    def __init__(self, spec: ModelSpec, *, backend: str, batch_size: int, cache_dir: Path,
                 max_pixels: int = MAX_PIXELS) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.spec = spec
        self.backend = backend
        self.batch_size = batch_size
        if backend == "onnxruntime":
            self.interface, self._run = _onnxruntime(spec, batch_size, cache_dir)
        elif backend == "mindspore":
            self.interface, self._run = _mindspore(spec, batch_size)
        else:
            raise BackendError(f"unknown backend {backend!r}")
        self.labels = self.interface.labels
        self.transform = EvalTransform(self.interface.preprocessing, max_pixels=max_pixels)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Raw logits for up to ``batch_size`` preprocessed images."""
        return self._run(images)

    def predict(self, inputs: Iterable[Input], topk: int) -> Iterator[Prediction]:
        """Predictions for ``inputs``, in order, one per input."""
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
                pending.append((item.path, None, error.reason))
            if loaded == self.batch_size:
                yield from self._flush(pending, topk)
                pending, loaded = [], 0
        yield from self._flush(pending, topk)

    def _flush(self, pending: Sequence[Tuple[str, Optional[np.ndarray], Optional[str]]],
               topk: int) -> Iterator[Prediction]:
        arrays = [array for _, array, _ in pending if array is not None]
        probs = iter(softmax(self._run(np.stack(arrays))) if arrays else ())
        for path, array, error in pending:
            if array is None:
                yield Prediction(image=path, error=error)
            else:
                yield Prediction(image=path, top=self._top(next(probs), topk))

    def _top(self, probs: np.ndarray, topk: int) -> Tuple[Tuple[int, str, float], ...]:
        order = np.argsort(-probs, kind="stable")[:topk]
        return tuple((int(i), self.labels[int(i)], float(probs[i])) for i in order)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _onnxruntime(spec: ModelSpec, batch_size: int,
                 cache_dir: Path) -> Tuple[ModelInterface, Runner]:
    from .runtime_ort import OrtRunner  # pylint: disable=import-outside-toplevel
    entry = export_entry(spec, batch_size, cache_dir)
    interface = entry.interface()
    if interface is None:  # cache miss: the only step of this path that needs MindSpore
        from .export import export_optimized_onnx  # pylint: disable=import-outside-toplevel
        net, interface = load_network(spec)
        export_optimized_onnx(net, entry.model, batch_size=batch_size,
                              image_size=interface.preprocessing.crop)
        entry.write_sidecar(interface)
    return interface, OrtRunner(entry.model, batch_size)


def _mindspore(spec: ModelSpec, batch_size: int) -> Tuple[ModelInterface, Runner]:
    from .runtime_ms import MindSporeRunner  # pylint: disable=import-outside-toplevel
    net, interface = load_network(spec)
    return interface, MindSporeRunner(net, batch_size)


def load_network(spec: ModelSpec) -> Tuple["nn.Cell", ModelInterface]:
    """The restored eval-mode network of ``spec`` and its interface (MindSpore).

    The checkpoint is read once, for its weights and for its metadata (class names and the
    image size it was trained at).

    Raises:
        CheckpointError: the checkpoint is unreadable or does not fit ``spec.arch``.
        UnknownModelError: ``spec.arch`` is not a GhostNet variant.
    """
    # pylint: disable=import-outside-toplevel
    from .checkpoint_meta import read_meta
    from .factory import network_from_params
    from .foreign import load_foreign_params
    from .labels import labels_for

    source = str(spec.checkpoint)
    _, params = load_foreign_params(spec.checkpoint)
    meta = read_meta(params, source)
    net = network_from_params(spec.arch, params, source=source)
    labels = labels_for(net.num_classes, checkpoint_names=meta.class_names, record=spec.record,
                        source=source)
    return net, ModelInterface(labels, spec.preprocessing.at_size(meta.image_size))

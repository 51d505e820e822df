"""Self-describing ONNX model files: the portable fp32 export and its int8 quantization.

``predict``'s cache keeps machine-specific ONNX files with a JSON sidecar; a file a user
carries around (``ghostnet quantize -o model.onnx``) must instead describe itself. Its
description (class names, the eval transform, the architecture) is stored as JSON in the ONNX
model's ``metadata_props`` under :data:`METADATA_KEY` (the weights record, see
:class:`~.registry.WeightsRecord`), which ONNX Runtime reads back without the ``onnx``
package and without MindSpore. Its batch axis is symbolic, so one file serves every batch
size.

Writing needs the ``onnx`` package (the ``onnx`` extra); reading needs only onnxruntime.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Tuple

import numpy as np

from .errors import BackendError, ModelSpecError
from .registry import WeightsRecord

if TYPE_CHECKING:
    import onnx
    import onnxruntime

ONNX_SUFFIX = ".onnx"
METADATA_KEY = "ghostnet_hub.weights"
METADATA_VERSION = 1
BATCH_AXIS = "batch"


def embed_record(model: "onnx.ModelProto", record: WeightsRecord) -> None:
    """Store ``record`` in ``model``'s metadata (replacing an earlier one)."""
    kept = [prop for prop in model.metadata_props if prop.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(
        {"version": METADATA_VERSION, "record": record.to_dict()}, ensure_ascii=False
    )


def make_batch_dynamic(model: "onnx.ModelProto") -> None:
    """Turn the fixed batch axis of a MindSpore export into the symbolic axis ``batch``.

    MindSpore writes the export's batch size into the graph's input and output shapes and
    into the shape constant of the Reshape before the classifier; that first entry becomes
    ``0`` (ONNX: copy the input's dimension). :func:`check_batch_dynamic` proves the result.
    """
    import onnx  # pylint: disable=import-outside-toplevel
    from onnx import numpy_helper  # pylint: disable=import-outside-toplevel

    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_AXIS
    del model.graph.value_info[:]
    constants = {node.output[0]: node for node in model.graph.node if node.op_type == "Constant"}
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Reshape":
            continue
        name = node.input[1]
        if name in constants:
            attribute = constants[name].attribute[0]
            shape = numpy_helper.to_array(attribute.t).copy()
            shape[0] = 0
            attribute.t.CopyFrom(numpy_helper.from_array(shape))
        elif name in initializers:
            shape = numpy_helper.to_array(initializers[name]).copy()
            shape[0] = 0
            initializers[name].CopyFrom(numpy_helper.from_array(shape, name))
    onnx.checker.check_model(model)


def check_batch_dynamic(path: Path, image_size: int) -> None:
    """Run ``path`` at batch 1 and 3 and compare: rows must not depend on their batch.

    Raises:
        BackendError: the graph still fixes its batch somewhere, or does not run.
    """
    session = ort_session(path)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 3, image_size, image_size)).astype(np.float32)
    name = session.get_inputs()[0].name
    try:
        together = session.run(None, {name: images})[0]
        alone = np.concatenate([session.run(None, {name: images[i : i + 1]})[0] for i in range(3)])
    except Exception as error:  # onnxruntime raises its own untyped exceptions
        raise BackendError(
            f"{path}: the exported graph does not take a free batch axis ({error})"
        ) from error
    if not np.allclose(together, alone, rtol=1e-3, atol=1e-4):
        raise BackendError(f"{path}: rows of a batch of 3 differ from the same rows alone")


def ort_session(
    path: Path, threads: int = 0, *, optimize: bool = True
) -> "onnxruntime.InferenceSession":
    """An ONNX Runtime CPU session of ``path`` on ``threads`` threads (0: every core), graph
    optimisations on unless ``optimize`` is False (a file ONNX Runtime already optimised,
    which then loads faster).

    Raises:
        BackendError: onnxruntime is missing or cannot load the file.
    """
    try:
        import onnxruntime  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise BackendError(
            "ONNX models run on onnxruntime: pip install 'ghostnet-hub[onnx]'"
        ) from error
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped exceptions
        raise BackendError(f"{path}: ONNX Runtime cannot load it ({error})") from error


def read_record(session: "onnxruntime.InferenceSession", source: str) -> WeightsRecord:
    """The weights record stored in a model file by :func:`embed_record`.

    Raises:
        ModelSpecError: the file carries no (or a malformed) record, so its classes and
            preprocessing are unknown.
    """
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if raw is None:
        raise ModelSpecError(
            f"{source}: this ONNX file does not say its classes and "
            "preprocessing; use one written by `ghostnet quantize` "
            "(or a checkpoint)"
        )
    try:
        meta: Dict[str, Any] = json.loads(raw)
        if meta.get("version") != METADATA_VERSION:
            raise ValueError(f"version {meta.get('version')!r}, expected {METADATA_VERSION}")
        return WeightsRecord.from_dict(meta["record"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelSpecError(f"{source}: malformed {METADATA_KEY} metadata ({error})") from error


class OnnxFileRunner:
    """Logits of batches through a model file, whatever its batch axis.

    A symbolic batch axis runs each batch as it is; a fixed one (a plain ``ghostnet export``)
    runs in chunks of that size, the last one zero-padded.
    """

    def __init__(self, session: "onnxruntime.InferenceSession") -> None:
        self._session = session
        spec = session.get_inputs()[0]
        self._input = spec.name
        first = spec.shape[0] if spec.shape else None
        self.fixed_batch = first if isinstance(first, int) and first > 0 else None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(n, classes)`` for ``images`` ``(n, 3, H, W)``."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        if self.fixed_batch is None:
            return self._session.run(None, {self._input: images})[0]
        size = self.fixed_batch
        outputs = []
        for start in range(0, len(images), size):
            chunk = images[start : start + size]
            padded = np.zeros((size,) + images.shape[1:], np.float32)
            padded[: len(chunk)] = chunk
            outputs.append(self._session.run(None, {self._input: padded})[0][: len(chunk)])
        return np.concatenate(outputs)


def load_model_file(path: Path) -> Tuple[WeightsRecord, OnnxFileRunner]:
    """The record and a runner of a self-describing ONNX file (no MindSpore).

    Raises:
        BackendError: onnxruntime cannot load it.
        ModelSpecError: it carries no record.
    """
    session = ort_session(path)
    return read_record(session, str(path)), OnnxFileRunner(session)

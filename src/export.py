"""Export a restored network to MindIR or ONNX, and build the optimised ONNX that
``predict``'s ONNX Runtime backend caches.

Every file is written under a temp name in the target's folder and moved into place with
``os.replace``, so a reader never sees half an export, and a failure leaves nothing behind.

The cached ONNX model is MindSpore's export run once through ONNX Runtime's optimiser at
``ORT_ENABLE_ALL`` and saved (``optimized_model_filepath``): BatchNorm is folded into the
convolutions, pads are fused, activations fused into convs, and layouts blocked for this
CPU. Such a file is tied to the machine's instruction set, which is fine for a local cache;
``ghostnet export --format onnx`` writes MindSpore's portable graph instead.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
import mindspore
import mindspore.onnx
import numpy as np
from mindspore import nn

from .errors import BackendError

FORMATS = ("mindir", "onnx")
"""``--format`` values; each is also the file suffix MindSpore writes."""
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
"""Names of the ONNX graph's input and output."""


def export_network(net: nn.Cell, path: Path, file_format: str, *, batch_size: int,
                   image_size: int) -> Path:
    """Export ``net`` for ``(batch_size, 3, image_size, image_size)`` float32 input to ``path``.

    Raises:
        BackendError: MindSpore failed to export (the message says why).
        ValueError: an unknown ``file_format``.
    """
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {file_format!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        sample = mindspore.Tensor(np.zeros((batch_size, 3, image_size, image_size), np.float32))
        stem = workdir / "net"
        try:
            if file_format == "onnx":  # the ONNX path of mindspore.export is deprecated
                mindspore.onnx.export(net, sample, file_name=str(stem),
                                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
            else:
                mindspore.export(net, sample, file_name=str(stem), file_format="MINDIR")
        except (RuntimeError, ValueError, TypeError) as error:
            raise BackendError(f"{path}: MindSpore could not export the network ({error})") \
                from error
        os.replace(stem.with_suffix(f".{file_format}"), path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path


def export_optimized_onnx(net: nn.Cell, path: Path, *, batch_size: int, image_size: int) -> Path:
    """Export ``net`` to ONNX, optimise it with ONNX Runtime, and save the result at ``path``.

    Raises:
        BackendError: onnxruntime is not installed, or export or optimisation failed.
    """
    try:
        import onnxruntime  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise BackendError("the onnxruntime backend needs onnxruntime: "
                           "pip install 'ghostnet-hub[onnx]'") from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        raw = export_network(net, workdir / "raw.onnx", "onnx", batch_size=batch_size,
                             image_size=image_size)
        optimized = workdir / "optimized.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(optimized)
        options.log_severity_level = 3  # the "hardware specific" notice is expected here
        try:
            onnxruntime.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise BackendError(f"{path}: ONNX Runtime could not optimise the export "
                               f"({error})") from error
        os.replace(optimized, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path

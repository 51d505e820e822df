"""Run a cached ONNX export with ONNX Runtime on all CPU cores.

The file is already optimised (see :mod:`.export`), so the session loads it without running
the optimiser again, which keeps the cold start short. Like the MindSpore runner, the batch
shape is fixed by the export; a shorter last batch is padded. Free of MindSpore.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .batching import pad_batch
from .errors import BackendError


class OrtRunner:
    """Logits of fixed-size batches through an ONNX model.

    Raises:
        BackendError: onnxruntime is missing or cannot load the model.
    """

    def __init__(self, model: Path, batch_size: int, threads: int = 0) -> None:
        try:
            import onnxruntime  # pylint: disable=import-outside-toplevel
        except ImportError as error:
            raise BackendError("the onnxruntime backend needs onnxruntime: "
                               "pip install 'ghostnet-hub[onnx]'") from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            self._session = onnxruntime.InferenceSession(str(model), options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise BackendError(f"{model}: ONNX Runtime cannot load it ({error})") from error
        self._input = self._session.get_inputs()[0].name
        self.batch_size = batch_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(n, classes)`` for ``images`` ``(n, 3, H, W)``, ``n <= batch_size``."""
        batch = pad_batch(images, self.batch_size)
        return self._session.run(None, {self._input: batch})[0][:len(images)]

"""Checkpoints in other code bases' names (mindcv, timm, the model zoo's GhostNet-600), written
the way each origin writes them, from the parameter lists in ``tests/data/foreign``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import mindspore as ms
import numpy as np
from safetensors.numpy import save_file

LISTS = Path(__file__).parent / "data" / "foreign"


def param_list(name: str) -> List[Tuple[str, List[int]]]:
    return [(entry[0], entry[1]) for entry in json.loads((LISTS / f"{name}.json").read_text())]


def random_tensors(name: str, seed: int = 0,
                   num_classes: Optional[int] = None) -> Dict[str, np.ndarray]:
    """The origin's tensors, in its order, with random values (positive BN variances,
    BN scales near 1; ``num_batches_tracked`` an int64 counter, as PyTorch writes it), for
    ``num_classes`` outputs if given (else the list's 1000)."""
    rng = np.random.default_rng(seed)
    tensors: Dict[str, np.ndarray] = {}
    for tensor, shape in param_list(name):
        if num_classes is not None and tensor.startswith("classifier."):
            shape = [num_classes] + shape[1:]
        leaf = tensor.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            tensors[tensor] = np.array(1234, np.int64)
        elif leaf in ("running_var", "moving_variance"):
            tensors[tensor] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif leaf == "gamma" or (leaf == "weight" and len(shape) == 1):
            tensors[tensor] = rng.uniform(0.8, 1.2, shape).astype(np.float32)
        else:
            tensors[tensor] = rng.normal(0.0, 0.1, shape).astype(np.float32)
    return tensors


def write(tensors: Dict[str, np.ndarray], path: Path) -> Path:
    """Save as the origin does: safetensors for timm, ``save_checkpoint`` for MindSpore."""
    if path.suffix == ".safetensors":
        save_file(tensors, str(path))
    else:
        ms.save_checkpoint([{"name": k, "data": ms.Tensor(v)} for k, v in tensors.items()],
                           str(path))
    return path


def write_bfloat16_safetensors(tensors: Dict[str, np.ndarray], path: Path) -> Path:
    """Save like ``model.half()``-style exports in bfloat16: every float32 tensor keeps its
    upper 16 bits (the safetensors layout is written by hand: numpy has no bfloat16)."""
    header: Dict[str, object] = {}
    chunks: List[bytes] = []
    offset = 0
    for name, value in tensors.items():
        if value.dtype == np.float32:
            data = (value.view(np.uint32) >> 16).astype("<u2").tobytes()
            dtype = "BF16"
        else:
            data, dtype = value.astype("<i8").tobytes(), "I64"
        header[name] = {"dtype": dtype, "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header)
    text += " " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text.encode() + b"".join(chunks))
    return path

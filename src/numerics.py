"""Numeric health of weights and outputs: non-finite values and exploded BatchNorm statistics.

A diverged fine-tuning run can leave a checkpoint whose BatchNorm ``moving_variance`` reaches
1e26: its activations then overflow float32 to ``inf``, and ``inf - inf`` gives NaN. The two
inference backends hide that differently. ONNX Runtime's ``Relu`` passes NaN on, so every
probability is NaN; MindSpore's CPU ReLU maps NaN to 0, so every input gets the same, finite
and meaningless answer (the classifier's bias). Neither may reach a user, so the same check
runs wherever weights enter or leave: on every restore (``checkpoint.restore``, which every
load goes through, inference on both backends included), after every fine-tuning epoch, and
before publishing. Outputs are checked too, as the last line.

A BatchNorm layer's running statistics follow the scale of its input. In a trained network
those inputs are normalised activations through weights of order one: running variances stay
within a few thousand (measured: 29 after a healthy fine-tuning run, 1.2e3 for an unstable
one that still trained, 3.7e26 for the diverged one). :data:`BN_STATISTIC_LIMIT` sits many
orders above the first and many below float32 overflow (3.4e38).

Free of MindSpore: it works on numpy arrays, so the ONNX Runtime path can use it.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional, Tuple

import numpy as np

BN_STATISTIC_LIMIT = 1e10
"""Largest BatchNorm ``moving_variance`` (and squared ``moving_mean``) accepted."""
BN_STATISTIC_SUFFIXES = (".moving_variance", ".moving_mean")
"""Parameter names of BatchNorm running statistics (MindSpore's names)."""

NamedArray = Tuple[str, np.ndarray]


def weights_problem(params: Iterable[NamedArray]) -> Optional[str]:
    """What is wrong with the floating-point ``(name, values)`` pairs, or None when nothing is:
    the first parameter holding a NaN or an infinity, or a BatchNorm statistic over
    :data:`BN_STATISTIC_LIMIT`. Integer and non-array entries are ignored."""
    worst: Optional[Tuple[float, str]] = None
    for name, values in params:
        array = np.asarray(values)
        if array.dtype.kind != "f" or array.size == 0:
            continue
        finite = np.isfinite(array)
        if not finite.all():
            bad = int(array.size - np.count_nonzero(finite))
            return f"parameter {name} holds {bad} non-finite value(s) (NaN or infinity)"
        if name.endswith(BN_STATISTIC_SUFFIXES):
            peak = float(np.max(np.abs(array.astype(np.float64))))
            scale = peak if name.endswith(".moving_variance") else peak * peak
            if scale > BN_STATISTIC_LIMIT and (worst is None or scale > worst[0]):
                worst = (scale, f"BatchNorm statistic {name} reaches {peak:.3g}")
    if worst is not None:
        return (
            f"{worst[1]} (variance limit {BN_STATISTIC_LIMIT:.0e}): training diverged, "
            "and activations overflow float32"
        )
    return None


def non_finite_rows(outputs: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``outputs`` (one per input) that hold a NaN or an infinity."""
    if len(outputs) == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(~np.isfinite(outputs.reshape(len(outputs), -1)).all(axis=1))


def named_arrays(params: Mapping[str, object]) -> Iterator[NamedArray]:
    """The ``(name, values)`` pairs of a checkpoint's parameter dict (MindSpore Parameters or
    Tensors, or numpy arrays); other entries (strings, say) are left out."""
    for name, value in params.items():
        if hasattr(value, "asnumpy"):
            yield name, value.asnumpy()
        elif isinstance(value, np.ndarray):
            yield name, value

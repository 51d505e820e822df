"""Post-training int8 quantization with ONNX Runtime, gated on held-out accuracy.

The fp32 model is MindSpore's ONNX export with a free batch axis and its weights record
stored inside (see :mod:`.onnx_model`), less what belongs to the source file only (its url,
digest, uid and published metrics). ONNX Runtime's pre-processing folds BatchNorm and infers
shapes, then ``quantize_static`` calibrates activation ranges (min/max) on images of the
calibration folder, fed through the model's own eval transform, and writes QDQ int8 with
per-channel weight scales (the choice measured in the README: per-tensor weights lose
several points on GhostNet's depthwise convolutions).

Both models are then scored on a held-out class folder and timed at batch 1 and 16 in the
same run, and the int8 file is written only if its top-1 is within ``max_drop`` points of
the fp32 top-1 (or ``force`` says to write it anyway). Nothing is left behind on failure.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import copy_file
from .errors import QuantizeError
from .onnx_model import check_batch_dynamic, embed_record, make_batch_dynamic, ort_session
from .registry import WeightsRecord
from .transforms import EvalTransform, collect_images

if TYPE_CHECKING:
    import onnxruntime
    from mindspore import nn

DEFAULT_MAX_DROP = 1.0
"""Top-1 points the int8 model may lose against fp32 before it is refused."""
DEFAULT_CALIBRATION_IMAGES = 256
SPEED_BATCHES = (1, 16)
TIME_BUDGET_S = 1.0
"""Time spent measuring each (model, batch size); the median run is reported."""
EVAL_BATCH = 16
OPSET = 13
"""ONNX opset of the fp32 model: MindSpore writes 11, per-channel QDQ needs 13."""


@dataclass(frozen=True)
class Scheme:
    """How ONNX Runtime quantizes: the graph format and the granularity of weight scales.

    ``qdq`` keeps float operators between QuantizeLinear/DequantizeLinear pairs, which ONNX
    Runtime fuses into int8 kernels; ``qoperator`` writes QLinearConv and friends directly.
    Per-channel scales give each output channel of a convolution its own range.
    """

    format: str = "qdq"
    per_channel: bool = True

    def __post_init__(self) -> None:
        if self.format not in ("qdq", "qoperator"):
            raise ValueError(f"format must be 'qdq' or 'qoperator', got {self.format!r}")


DEFAULT_SCHEME = Scheme()
"""QDQ, per channel: the measured choice (docs/benchmarks.md)."""


@dataclass(frozen=True)
class Speed:
    """Median milliseconds of one run at a batch size, and the images per second it gives."""

    batch: int
    ms: float

    @property
    def images_per_s(self) -> float:
        """Throughput of one run."""
        return self.batch * 1000.0 / self.ms


@dataclass(frozen=True)
class QuantizeReport:
    """What the quantization measured, and where the int8 model went (None: refused)."""

    output: Optional[Path]
    calibration_images: int
    eval_images: int
    top1_fp32: float
    top1_int8: float
    agreement: float
    """Share of eval images where int8 and fp32 give the same top-1 class."""
    speed_fp32: Tuple[Speed, ...]
    speed_int8: Tuple[Speed, ...]
    fp32_bytes: int
    int8_bytes: int

    @property
    def drop(self) -> float:
        """Top-1 points lost by int8 (negative: it gained)."""
        return (self.top1_fp32 - self.top1_int8) * 100.0


def quantize_network(
    net: "nn.Cell",
    record: WeightsRecord,
    *,
    calibration: Path,
    eval_folder: Path,
    output: Path,
    max_drop: float = DEFAULT_MAX_DROP,
    force: bool = False,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    scheme: Scheme = DEFAULT_SCHEME,
) -> QuantizeReport:
    """Quantize ``net`` to int8, score and time both models, and write the int8 file.

    Args:
        net: the restored network in eval mode.
        record: its weights record: variant, labels, eval transform (stored in the file).
        calibration: a folder of images (walked recursively) to calibrate on.
        eval_folder: held-out images, one sub-folder per class named as a model label.
        output: the ``.onnx`` file to write.
        max_drop: most top-1 points int8 may lose.
        force: write the int8 model even when it loses more.
        calibration_images: most calibration images used (spread over the folder).
        scheme: how to quantize (the default is the measured choice; see :class:`Scheme`).

    Raises:
        QuantizeError: unusable folders, a failed quantization, or the accuracy gate.
        DatasetError: an eval image that cannot be decoded (named).
        BackendError: the export or ONNX Runtime failed.
    """
    if max_drop < 0:
        raise QuantizeError(f"--max-drop must be >= 0, got {max_drop}")
    record = replace(record, uid=None, url=None, sha256=None, metrics={})
    transform = EvalTransform(record.preprocessing)
    calib = _calibration_arrays(calibration, transform, calibration_images)
    images, targets = _eval_set(eval_folder, record.labels(), transform)
    _parent(output)  # fail before the work if the output's folder cannot be made
    # Work in the system's temp folder: MindSpore's export refuses paths with spaces or
    # other characters outside [0-9a-zA-Z@_-.:/\], which the output's folder may hold.
    workdir = Path(tempfile.mkdtemp(prefix="ghostnet-quantize-"))
    try:
        fp32 = export_fp32(net, record, workdir / "fp32.onnx")
        int8 = _quantize_file(fp32, calib, record, workdir, scheme)
        fp32_session, int8_session = ort_session(fp32), ort_session(int8)
        fp32_pred = _top1(fp32_session, images)
        int8_pred = _top1(int8_session, images)
        size = record.preprocessing.crop
        report = QuantizeReport(
            output=None,
            calibration_images=len(calib),
            eval_images=len(images),
            top1_fp32=float(np.mean(fp32_pred == targets)),
            top1_int8=float(np.mean(int8_pred == targets)),
            agreement=float(np.mean(fp32_pred == int8_pred)),
            speed_fp32=tuple(_speed(fp32_session, b, size) for b in SPEED_BATCHES),
            speed_int8=tuple(_speed(int8_session, b, size) for b in SPEED_BATCHES),
            fp32_bytes=fp32.stat().st_size,
            int8_bytes=int8.stat().st_size,
        )
        if report.drop > max_drop and not force:
            return report
        copy_file(int8, output)
        return replace(report, output=Path(output))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def export_fp32(net: "nn.Cell", record: WeightsRecord, path: Path) -> Path:
    """MindSpore's ONNX export of ``net`` with a free batch axis and its record inside.

    Raises:
        BackendError: the export failed, or its batch axis could not be freed.
    """
    import onnx  # pylint: disable=import-outside-toplevel
    import onnx.version_converter  # pylint: disable=import-outside-toplevel

    from .export import export_network  # pylint: disable=import-outside-toplevel

    size = record.preprocessing.crop
    raw = export_network(
        net, path.with_name(f"raw-{path.name}"), "onnx", batch_size=1, image_size=size
    )
    model = onnx.load(str(raw))
    if model.opset_import[0].version < OPSET:  # per-channel QDQ needs DequantizeLinear's axis
        model = onnx.version_converter.convert_version(model, OPSET)
    make_batch_dynamic(model)
    embed_record(model, record)
    onnx.save(model, str(path))
    raw.unlink()
    check_batch_dynamic(path, size)
    return path


def _quantize_file(
    fp32: Path, calib: np.ndarray, record: WeightsRecord, workdir: Path, scheme: Scheme
) -> Path:
    """Pre-process (fold BatchNorm, infer shapes) and quantize ``fp32`` to int8."""
    # pylint: disable=import-outside-toplevel
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = workdir / "prepared.onnx"
    int8 = workdir / "int8.onnx"
    try:
        # ONNX shape inference suffices for a CNN; the symbolic one would need sympy.
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(int8),
            _Reader(fp32, calib),
            quant_format=(QuantFormat.QDQ if scheme.format == "qdq" else QuantFormat.QOperator),
            per_channel=scheme.per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    except Exception as error:  # the quantization tools raise untyped exceptions
        raise QuantizeError(f"ONNX Runtime could not quantize the model ({error})") from error
    model = onnx.load(str(int8))
    embed_record(model, record)
    onnx.save(model, str(int8))
    return int8


class _Reader:
    """ONNX Runtime's calibration data reader protocol over preprocessed arrays."""

    def __init__(self, model: Path, arrays: np.ndarray) -> None:
        self._name = ort_session(model, threads=1).get_inputs()[0].name
        self._batches: Iterator[np.ndarray] = iter(
            [arrays[i : i + EVAL_BATCH] for i in range(0, len(arrays), EVAL_BATCH)]
        )

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        """The next calibration batch, or None when all were given."""
        batch = next(self._batches, None)
        return None if batch is None else {self._name: batch}


def _calibration_arrays(folder: Path, transform: EvalTransform, limit: int) -> np.ndarray:
    if not Path(folder).is_dir():
        raise QuantizeError(f"{folder}: calibration folder not found")
    inputs = [item for item in collect_images([str(folder)]) if item.error is None]
    if not inputs:
        raise QuantizeError(f"{folder}: no images to calibrate on")
    if len(inputs) > limit:  # spread over the sorted folder, so every class is seen
        inputs = [inputs[i] for i in np.linspace(0, len(inputs) - 1, limit).astype(int)]
    arrays = []
    for item in inputs:
        try:
            arrays.append(transform(item.path))
        except Exception as error:  # ImageError; named, so the user can remove it
            raise QuantizeError(f"calibration image {error}") from error
    return np.stack(arrays)


def _eval_set(
    folder: Path, labels: Sequence[str], transform: EvalTransform
) -> Tuple[np.ndarray, np.ndarray]:
    """The eval images (preprocessed) and the model output index of each one's class."""
    from .data import scan_class_folders  # pylint: disable=import-outside-toplevel

    classes, samples = scan_class_folders(Path(folder))
    index = {label: i for i, label in enumerate(labels)}
    unknown = [name for name in classes if name not in index]
    if unknown:
        raise QuantizeError(
            f"{folder}: class folder(s) {', '.join(unknown)} name no class of "
            f"the model ({', '.join(labels[:10])}"
            f"{', ...' if len(labels) > 10 else ''})"
        )
    images = np.stack([transform(path) for path, _ in samples])
    targets = np.array([index[classes[label]] for _, label in samples])
    return images, targets


def _top1(session: "onnxruntime.InferenceSession", images: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    logits = [
        session.run(None, {name: images[i : i + EVAL_BATCH]})[0]
        for i in range(0, len(images), EVAL_BATCH)
    ]
    return np.concatenate(logits).argmax(axis=1)


def _speed(session: "onnxruntime.InferenceSession", batch: int, size: int) -> Speed:
    """Median time of one run at ``batch``, over as many runs as :data:`TIME_BUDGET_S` allows."""
    name = session.get_inputs()[0].name
    feed = {name: np.random.default_rng(0).normal(size=(batch, 3, size, size)).astype(np.float32)}
    session.run(None, feed)  # warm-up
    times: List[float] = []
    deadline = time.perf_counter() + TIME_BUDGET_S
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 200):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000.0)
    return Speed(batch, statistics.median(times))


def _parent(output: Path) -> Path:
    parent = Path(output).expanduser().resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise QuantizeError(f"{output}: cannot create its folder ({error})") from error
    return parent

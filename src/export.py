"""Export a restored network to MindIR or ONNX, and build the optimised ONNX that
``predict``'s ONNX Runtime backend caches.

Every file is written under a temp name in the target's folder and moved into place with
``os.replace``, so a reader never sees half an export, and a failure leaves nothing behind.

The cached ONNX model is MindSpore's export run once through ONNX Runtime's optimiser at
``ORT_ENABLE_ALL`` and saved (``optimized_model_filepath``): BatchNorm is folded into the
convolutions, pads are fused, activations fused into convs, and layouts blocked for this
CPU. Such a file is tied to the machine's instruction set, which is fine for a local cache;
``ghostnet export --format onnx`` writes MindSpore's portable graph instead.

The export cache: an export is keyed by the checkpoint's SHA-256 (a prefix of 16 hex
digits) and the architecture (the image size follows from the checkpoint; the batch axis is
free, so one export serves every batch size), so a changed checkpoint gets a new file and
can never reuse a stale one. Exports of a hub
checkpoint sit next to it in the hub cache; those of a checkpoint elsewhere go to
``<cache>/exports`` rather than beside the user's file. Each export has a JSON sidecar
holding the weights record (:meth:`.registry.WeightsRecord.to_dict`: labels, preprocessing),
because a checkpoint's own class names and image size can only be read with MindSpore, which
the cached path never imports. The sidecar is written last, so one that exists always
describes a complete export.

MindSpore is imported only by the functions that export, so that looking up the cache
stays free of it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from .atomic import write_text
from .errors import BackendError
from .onnx_model import check_batch_dynamic, make_batch_dynamic
from .registry import WeightsRecord
from .weights import ResolvedWeights

if TYPE_CHECKING:
    from mindspore import nn

FORMATS = ("mindir", "onnx")
"""``--format`` values; each is also the file suffix MindSpore writes."""
INPUT_NAME = "images"
OUTPUT_NAME = "logits"
"""Names of the ONNX graph's input and output."""
SHA_PREFIX_DIGITS = 16
EXPORTS_DIRNAME = "exports"
SIDECAR_VERSION = 4
FILE_MODE = 0o666
"""Every export gets the mode of any file the user writes (this, less the umask): MindSpore
writes MindIR read-only and ONNX read-write, which made the two formats differ."""


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def export_network(
    net: "nn.Cell", path: Path, file_format: str, *, batch_size: int, image_size: int
) -> Path:
    """Export ``net`` for ``(batch_size, 3, image_size, image_size)`` float32 input to ``path``.

    Raises:
        BackendError: MindSpore failed to export (the message says why).
        ValueError: an unknown ``file_format``.
    """
    # pylint: disable=import-outside-toplevel
    import mindspore
    import mindspore.onnx

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
                mindspore.onnx.export(
                    net,
                    sample,
                    file_name=str(stem),
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                )
            else:
                mindspore.export(net, sample, file_name=str(stem), file_format="MINDIR")
        except (RuntimeError, ValueError, TypeError) as error:
            raise BackendError(
                f"{path}: MindSpore could not export the network ({error})"
            ) from error
        written = stem.with_suffix(f".{file_format}")
        os.chmod(written, FILE_MODE & ~_umask())  # MindSpore writes MindIR read-only
        os.replace(written, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path


def export_optimized_onnx(
    net: "nn.Cell", path: Path, *, image_size: int, batch_size: Optional[int] = None
) -> Path:
    """Export ``net`` to ONNX, optimise it with ONNX Runtime, and save the result at ``path``.

    With ``batch_size`` None (the default) the batch axis is free: the export is traced at
    batch 1, its batch made symbolic (:func:`~.onnx_model.make_batch_dynamic`) and checked
    (:func:`~.onnx_model.check_batch_dynamic`), so one file serves every batch size. A
    number fixes the batch instead (``benchmarks/bench_inference.py`` compares the two).

    Raises:
        BackendError: onnxruntime or onnx is not installed, or export, optimisation or the
            batch check failed.
    """
    try:
        # pylint: disable=import-outside-toplevel
        import onnx
        import onnxruntime
    except ImportError as error:
        raise BackendError(
            "the onnxruntime backend needs onnxruntime and onnx: pip install 'ghostnet-hub[onnx]'"
        ) from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        raw = export_network(
            net, workdir / "raw.onnx", "onnx", batch_size=batch_size or 1, image_size=image_size
        )
        if batch_size is None:
            model = onnx.load(str(raw))
            make_batch_dynamic(model)
            onnx.save(model, str(raw))
        optimized = workdir / "optimized.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(optimized)
        options.log_severity_level = 3  # the "hardware specific" notice is expected here
        try:
            onnxruntime.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise BackendError(
                f"{path}: ONNX Runtime could not optimise the export ({error})"
            ) from error
        if batch_size is None:
            check_batch_dynamic(optimized, image_size)
        os.chmod(optimized, FILE_MODE & ~_umask())
        os.replace(optimized, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path


@dataclass(frozen=True)
class ExportEntry:
    """The cached ONNX export of one checkpoint, with a free batch axis."""

    model: Path
    sidecar: Path
    spec: ResolvedWeights

    def record(self) -> Optional[WeightsRecord]:
        """The sidecar's weights record when the export is complete and matches, else None."""
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if (
                meta["version"] != SIDECAR_VERSION
                or meta["sha256"] != self.spec.sha256
                or not self.model.is_file()
            ):
                return None
            return WeightsRecord.from_dict(meta["record"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no sidecar, or one from another version: export again

    def write_sidecar(self, record: WeightsRecord) -> None:
        """Record the weights record of a finished export (atomically)."""
        meta = {
            "version": SIDECAR_VERSION,
            "sha256": self.spec.sha256,
            "record": record.to_dict(),
        }
        write_text(self.sidecar, json.dumps(meta, ensure_ascii=False))


def export_entry(spec: ResolvedWeights, cache_dir: Path) -> ExportEntry:
    """The cache entry of ``spec``'s export."""
    folder = _export_dir(spec.checkpoint, cache_dir)
    arch = spec.arch if spec.arch_known else "ckpt"  # the variant is read on export
    stem = f"{arch}-{spec.sha256[:SHA_PREFIX_DIGITS]}"
    return ExportEntry(folder / f"{stem}.ort.onnx", folder / f"{stem}.json", spec)


def _export_dir(checkpoint: Path, cache_dir: Path) -> Path:
    root = cache_dir.expanduser().resolve()
    parent = checkpoint.resolve().parent
    return parent if root in parent.parents or parent == root else root / EXPORTS_DIRNAME

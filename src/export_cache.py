"""Where the ONNX Runtime path keeps its exports, and what it records beside them.

An export is keyed by the checkpoint's SHA-256 (a prefix of 16 hex digits), the
architecture, the batch size and the image size: a changed checkpoint gets a new file and
can never reuse a stale one. Exports of a hub checkpoint sit next to it in the hub cache;
those of a checkpoint elsewhere go to ``<cache>/exports`` rather than beside the user's file.

Each export has a JSON sidecar with the labels of its outputs, because the checkpoint's own
class names can only be read with MindSpore, which the cached path never imports. Both files
are written to a temp name and moved into place (``os.replace``), the sidecar last, so a
sidecar that exists always describes a complete export.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .model_spec import ModelSpec

SHA_PREFIX_DIGITS = 16
EXPORTS_DIRNAME = "exports"
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class ExportEntry:
    """The cached ONNX export of one (checkpoint, batch size, image size)."""

    model: Path
    sidecar: Path
    spec: ModelSpec
    batch_size: int
    image_size: int

    def labels(self) -> Optional[List[str]]:
        """The sidecar's labels when the export is complete and matches, else None."""
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (meta.get("version") != SIDECAR_VERSION or meta.get("sha256") != self.spec.sha256
                or not self.model.is_file()):
            return None
        labels = meta.get("labels")
        return labels if isinstance(labels, list) else None

    def write_sidecar(self, labels: List[str]) -> None:
        """Record the labels of a finished export (atomically)."""
        meta = {"version": SIDECAR_VERSION, "sha256": self.spec.sha256, "arch": self.spec.arch,
                "batch_size": self.batch_size, "image_size": self.image_size, "labels": labels}
        write_atomically(self.sidecar, json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def export_entry(spec: ModelSpec, batch_size: int, image_size: int,
                 cache_dir: Path) -> ExportEntry:
    """The cache entry of ``spec`` exported for ``batch_size`` images of ``image_size``."""
    folder = _export_dir(spec.checkpoint, cache_dir)
    stem = (f"{spec.arch}-{spec.sha256[:SHA_PREFIX_DIGITS]}-"
            f"b{batch_size}-{image_size}x{image_size}")
    return ExportEntry(model=folder / f"{stem}.ort.onnx", sidecar=folder / f"{stem}.json",
                       spec=spec, batch_size=batch_size, image_size=image_size)


def _export_dir(checkpoint: Path, cache_dir: Path) -> Path:
    root = cache_dir.expanduser().resolve()
    parent = checkpoint.resolve().parent
    return parent if root in parent.parents or parent == root else root / EXPORTS_DIRNAME


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a private temp file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)

"""Where the ONNX Runtime path keeps its exports, and what it records beside them.

An export is keyed by the checkpoint's SHA-256 (a prefix of 16 hex digits), the
architecture and the batch size (the image size follows from the checkpoint): a changed
checkpoint gets a new file and can never reuse a stale one. Exports of a hub checkpoint sit
next to it in the hub cache; those of a checkpoint elsewhere go to ``<cache>/exports`` rather
than beside the user's file.

Each export has a JSON sidecar with the model's interface (the labels of its outputs and
the eval transform of its input), because the checkpoint's own class names and image size
can only be read with MindSpore, which the cached path never imports. Both files
are written to a temp name and moved into place (``os.replace``), the sidecar last, so a
sidecar that exists always describes a complete export.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from .atomic import write_text
from .model_spec import ModelInterface, ModelSpec
from .pretrained import Preprocessing

SHA_PREFIX_DIGITS = 16
EXPORTS_DIRNAME = "exports"
SIDECAR_VERSION = 2


@dataclass(frozen=True)
class ExportEntry:
    """The cached ONNX export of one (checkpoint, batch size)."""

    model: Path
    sidecar: Path
    spec: ModelSpec
    batch_size: int

    def interface(self) -> Optional[ModelInterface]:
        """The sidecar's interface when the export is complete and matches, else None."""
        try:
            meta = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if (meta["version"] != SIDECAR_VERSION or meta["sha256"] != self.spec.sha256
                    or not self.model.is_file()):
                return None
            prep = meta["preprocessing"]
            return ModelInterface(labels=[str(label) for label in meta["labels"]],
                                  preprocessing=Preprocessing(
                                      resize=int(prep["resize"]), crop=int(prep["crop"]),
                                      interpolation=str(prep["interpolation"]),
                                      mean=tuple(prep["mean"]), std=tuple(prep["std"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no sidecar, or one from another version: export again

    def write_sidecar(self, interface: ModelInterface) -> None:
        """Record the interface of a finished export (atomically)."""
        meta = {"version": SIDECAR_VERSION, "sha256": self.spec.sha256, "arch": self.spec.arch,
                "batch_size": self.batch_size, "labels": interface.labels,
                "preprocessing": asdict(interface.preprocessing)}
        write_text(self.sidecar, json.dumps(meta, ensure_ascii=False))


def export_entry(spec: ModelSpec, batch_size: int, cache_dir: Path) -> ExportEntry:
    """The cache entry of ``spec`` exported for batches of ``batch_size`` images."""
    folder = _export_dir(spec.checkpoint, cache_dir)
    stem = f"{spec.arch}-{spec.sha256[:SHA_PREFIX_DIGITS]}-b{batch_size}"
    return ExportEntry(model=folder / f"{stem}.ort.onnx", sidecar=folder / f"{stem}.json",
                       spec=spec, batch_size=batch_size)


def _export_dir(checkpoint: Path, cache_dir: Path) -> Path:
    root = cache_dir.expanduser().resolve()
    parent = checkpoint.resolve().parent
    return parent if root in parent.parents or parent == root else root / EXPORTS_DIRNAME


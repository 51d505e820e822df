"""Typed errors of ghostnet-hub.

Every error the package raises on purpose derives from :class:`GhostnetHubError`, so callers
can catch the package's failures without catching programming errors. Several also derive
from the builtin a caller would naturally expect (``ValueError`` for a bad name, ``OSError``
for a failed download) so that generic handlers keep working.
"""
from __future__ import annotations

from typing import Iterable, Sequence, Tuple


class GhostnetHubError(Exception):
    """Base class of every error raised on purpose by ghostnet-hub."""


class UnknownModelError(GhostnetHubError, ValueError):
    """A model name that is not one of the known GhostNet variants."""

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(available)
        super().__init__(
            f"unknown model {name!r}; available: {', '.join(self.available)}")


class CardError(GhostnetHubError, ValueError):
    """A model card that breaks the hub's schema. Names the file and, when known, the field."""

    def __init__(self, source: str, message: str, field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.reason = message
        where = f"{source}: field {field!r}" if field else source
        super().__init__(f"{where}: {message}")


class CheckpointError(GhostnetHubError):
    """A checkpoint that cannot be read or does not fit the network."""


class MissingParametersError(CheckpointError):
    """Network parameters that the checkpoint does not hold."""

    def __init__(self, source: str, names: Sequence[str]) -> None:
        self.source = source
        self.names = tuple(names)
        shown = ", ".join(self.names[:10])
        more = f" and {len(self.names) - 10} more" if len(self.names) > 10 else ""
        super().__init__(
            f"{source}: {len(self.names)} network parameter(s) missing from the checkpoint: "
            f"{shown}{more}")


class ShapeMismatchError(CheckpointError):
    """Checkpoint parameters whose shape differs from the network's."""

    def __init__(self, source: str,
                 mismatches: Sequence[Tuple[str, Tuple[int, ...], Tuple[int, ...]]]) -> None:
        self.source = source
        self.mismatches = tuple(mismatches)
        shown = "; ".join(f"{name}: checkpoint {tuple(ckpt)} vs network {tuple(net)}"
                          for name, ckpt, net in self.mismatches[:10])
        super().__init__(f"{source}: {len(self.mismatches)} shape mismatch(es): {shown}")


class DatasetError(GhostnetHubError, ValueError):
    """An image folder that cannot be trained on. Names the folder or file at fault."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")


class OutputError(GhostnetHubError, OSError):
    """An output folder that cannot take the run's files (unwritable, or too little space)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")


class PublishError(GhostnetHubError):
    """A publish that would overwrite a different file, or whose inputs are unusable."""

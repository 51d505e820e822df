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


class ImageError(GhostnetHubError, ValueError):
    """An input image that cannot be used: unreadable, not an image, truncated, too large.

    Raised per image, so a batch goes on with the other inputs. Names the file.
    """

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}")


class ImageTooLargeError(ImageError):
    """An image over the pixel cap: refused before decoding, as a decompression-bomb guard."""


class ModelSpecError(GhostnetHubError, ValueError):
    """A ``--model`` value that names no usable model (bad path, missing ``--arch``, ...)."""


class HubUnavailableError(GhostnetHubError):
    """A model named by hub uid, card or URL, while the hub client is not part of this build."""


class BackendError(GhostnetHubError):
    """An inference backend that is not installed or failed to load or export a model."""

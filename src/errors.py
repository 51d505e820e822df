"""Typed errors of ghostnet-hub.

Every error the package raises on purpose derives from :class:`GhostnetHubError`, so callers
can catch the package's failures without catching programming errors. Several also derive
from the builtin a caller would naturally expect (``ValueError`` for a bad name, ``OSError``
for a failed download) so that generic handlers keep working.
"""

from __future__ import annotations

from typing import Iterable, Sequence, Tuple

NAMES_SHOWN = 10
"""Names an error lists before it says how many more there are."""


def _first_names(names: Sequence[str]) -> str:
    """``a, b, c`` or, past :data:`NAMES_SHOWN` names, ``a, ..., j and 5 more``."""
    more = len(names) - NAMES_SHOWN
    return ", ".join(names[:NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")


class GhostnetHubError(Exception):
    """Base class of every error raised on purpose by ghostnet-hub."""


class UnknownModelError(GhostnetHubError, ValueError):
    """A model name that is not one of the known GhostNet variants."""

    def __init__(self, name: str, available: Iterable[str]) -> None:
        self.name = name
        self.available = tuple(available)
        super().__init__(f"unknown model {name!r}; available: {', '.join(self.available)}")


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


class UnstableWeightsError(CheckpointError):
    """Weights with NaN or infinite values, or exploded BatchNorm statistics: a diverged
    training run. They would give NaN or meaningless answers, so they are refused."""


class MissingParametersError(CheckpointError):
    """Network parameters that the checkpoint does not hold."""

    def __init__(self, source: str, names: Sequence[str]) -> None:
        self.source = source
        self.names = tuple(names)
        super().__init__(
            f"{source}: {len(self.names)} network parameter(s) missing from the checkpoint: "
            f"{_first_names(self.names)}"
        )


class ShapeMismatchError(CheckpointError):
    """Checkpoint parameters whose shape differs from the network's."""

    def __init__(
        self, source: str, mismatches: Sequence[Tuple[str, Tuple[int, ...], Tuple[int, ...]]]
    ) -> None:
        self.source = source
        self.mismatches = tuple(mismatches)
        shown = "; ".join(
            f"{name}: checkpoint {tuple(ckpt)} vs network {tuple(net)}"
            for name, ckpt, net in self.mismatches[:10]
        )
        super().__init__(f"{source}: {len(self.mismatches)} shape mismatch(es): {shown}")


class UnknownCheckpointFamilyError(CheckpointError):
    """A checkpoint whose tensor names fit none of the naming families this module reads."""

    def __init__(self, source: str, names: Sequence[str], reason: str) -> None:
        self.source = source
        self.names = tuple(names)
        shown = ", ".join(self.names[:5])
        super().__init__(f"{source}: {reason} (first tensors: {shown or 'none'})")


class UnmappedTensorsError(CheckpointError):
    """Tensors of a foreign checkpoint that match no name of its family: never dropped silently."""

    def __init__(self, source: str, family: str, names: Sequence[str]) -> None:
        self.source = source
        self.family = family
        self.names = tuple(names)
        super().__init__(
            f"{source}: {len(self.names)} tensor(s) match no {family} name of "
            f"GhostNet: {_first_names(self.names)}"
        )


class ForeignTensorsMissingError(CheckpointError):
    """A BatchNorm or SE of a foreign checkpoint with some of its tensors absent."""

    def __init__(self, source: str, family: str, names: Sequence[str]) -> None:
        self.source = source
        self.family = family
        self.names = tuple(names)
        super().__init__(
            f"{source}: {family} checkpoint lacks {len(self.names)} tensor(s) of "
            f"modules it partly holds: {_first_names(self.names)}"
        )


class DownloadError(GhostnetHubError, OSError):
    """A download that failed: bad URL or scheme, network error, timeout, or retries spent.

    Also an ``OSError``, so code that already handles I/O failures keeps working.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        # One argument only: OSError reads two positional arguments as (errno, strerror).
        super().__init__(f"{url}: {reason}")


WITHOUT_NETWORK = (
    "to work without the network, name a local checkpoint (--model "
    "run/best.ckpt), a card file (--model card.md) or a project index "
    "(MSHUB_INDEX=folder), or use what is cached (MSHUB_OFFLINE=1, "
    "list --offline)"
)
"""What a user without network can do instead: said by every error that means "no network"."""


class HostNotFoundError(DownloadError):
    """A host name that does not resolve: no network (or no DNS). Not retried, as retrying
    the same lookup within seconds cannot succeed."""

    def __init__(self, url: str, host: str) -> None:
        self.host = host
        super().__init__(url, f"cannot resolve the host {host!r} (no network?); {WITHOUT_NETWORK}")


class HTTPStatusError(DownloadError):
    """A server that answered with an HTTP error status (4xx at once, 5xx once retries ran out)."""

    def __init__(self, url: str, status: int, message: str = "") -> None:
        self.status = status
        detail = f" {message}" if message else ""
        super().__init__(url, f"HTTP {status}{detail}")


class DownloadTooLargeError(DownloadError):
    """A download larger than the configured limit (``MSHUB_MAX_DOWNLOAD_BYTES``)."""

    def __init__(self, url: str, size: int, limit: int, announced: bool) -> None:
        self.size = size
        self.limit = limit
        what = "announces" if announced else "sent more than"
        super().__init__(url, f"server {what} {size} bytes; the limit is {limit} bytes")


class IntegrityError(DownloadError):
    """Content whose sha256 differs from the expected one. Nothing is kept of it."""

    def __init__(self, source: str, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(source, f"sha256 mismatch: expected {expected}, got {actual}")


class OfflineError(GhostnetHubError, OSError):
    """An asset that is needed from the network while offline mode (``MSHUB_OFFLINE``) is on."""

    def __init__(self, asset: str, path: str, reason: str = "not in the cache") -> None:
        self.asset = asset
        self.path = path
        super().__init__(
            f"offline mode: {asset} is {reason} (looked for {path}); "
            "unset MSHUB_OFFLINE to fetch it, or name a local checkpoint "
            "(--model run/best.ckpt), a card file or a project index "
            "(MSHUB_INDEX=folder)"
        )


class UnsafeAssetNameError(CardError):
    """An asset link whose file name could escape the cache or is not a known weights format."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(url, f"unsafe asset name: {reason}")


class CachePathError(GhostnetHubError, ValueError):
    """A cache path part (user, version, card name) that could escape the cache root."""

    def __init__(self, part: str, reason: str) -> None:
        self.part = part
        super().__init__(f"cache path part {part!r}: {reason}")


class CacheCleanError(GhostnetHubError, ValueError):
    """``ghostnet cache clean`` asked for an entry the cache does not hold."""


class HubNameError(GhostnetHubError, ValueError):
    """A name given to the hub client that resolves to no card."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"{name!r}: {reason}")


class MissingListingError(GhostnetHubError, LookupError):
    """An http(s) index without ``index.json``: it cannot be listed, so only full uids work."""

    def __init__(self, index: str, url: str) -> None:
        self.index = index
        self.url = url
        super().__init__(
            f"{url}: not found (HTTP 404). The index {index} publishes no list "
            "of its cards, so it cannot be listed and short uids "
            "('user/model-name') cannot be resolved in it; give a full uid "
            "('user/version/card' or 'user/device/version/card'), or point "
            "MSHUB_INDEX at an index with an index.json (ghostnet publish "
            "writes one)"
        )


class UntrustedRepoError(GhostnetHubError):
    """Loading would run a hub conf from outside this module without ``trust_repo=True``."""


class HubConfError(GhostnetHubError):
    """A module directory whose ``mindspore_hub_conf.py`` is missing or returns no network."""


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


class OptionError(GhostnetHubError, ValueError):
    """A command-line option (or the config field behind it) that cannot work, or that
    contradicts the run being resumed. Names the option; the CLI exits with status 2."""


class BackendError(GhostnetHubError):
    """An inference backend that is not installed or failed to load or export a model."""


class NonFiniteOutputError(BackendError):
    """A model that produced NaN or infinite outputs; names the model and the inputs."""


class FinetuneOptionsError(GhostnetHubError, ValueError):
    """Fine-tuning options that cannot train (a batch too small for BatchNorm, say)."""


class TrainingDivergedError(GhostnetHubError):
    """A fine-tuning run stopped because its loss or weights stopped being finite or exploded.

    The checkpoints already written are the last good ones; nothing of the diverged state
    is saved.
    """


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


class SettingsError(GhostnetHubError, ValueError):
    """An environment variable with a value this package cannot use. Names the variable."""


class LabelsError(GhostnetHubError, ValueError):
    """A label list that is missing, malformed, or does not fit the model's outputs."""


class HubInstallError(GhostnetHubError):
    """``ghostnet hub-install`` cannot place the module: the folder the real client reads is
    taken by something else, or the card is not the one this module knows. Names the path."""


class ServeError(GhostnetHubError):
    """An inference server that cannot start (a port in use, an address it may not bind)."""


class QuantizeError(GhostnetHubError):
    """An int8 model that cannot be made, or that the accuracy gate refuses to write."""

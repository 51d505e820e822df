"""What ``--model`` names, resolved to a local checkpoint, its hash and its metadata.

``--model`` is either a MindSpore checkpoint file (``.ckpt``), whose architecture
``--arch`` then names, a self-describing ONNX model file (``.onnx``, such as the int8 model
of ``ghostnet quantize``), or a hub name (a uid such as ``mindspore/ghostnet``, a card path or
a card URL), which the hub client fetches and verifies into its cache. Either way the result
is a :class:`ModelSpec`: the architecture, the checkpoint file, its SHA-256 (the key of every
derived artefact, so a changed checkpoint never reuses a stale export), and the
preprocessing record the checkpoint expects.

Free of MindSpore: resolving a model must not cost MindSpore's import, so that ``predict``
on a cached ONNX export starts fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .errors import ModelSpecError
from .hashing import sha256_file
from .pretrained import DEFAULT_PREPROCESSING, Preprocessing, PretrainedRecord, pretrained_record
from .weights import fetch

CHECKPOINT_SUFFIX = ".ckpt"
ONNX_SUFFIX = ".onnx"
"""A self-describing ONNX model file (``ghostnet quantize``'s output, see :mod:`.onnx_model`)."""


@dataclass(frozen=True)
class ModelSpec:
    """A model ready to load: which network, from which verified file, fed how."""

    source: str
    """What the user named (``--model``), for messages."""
    arch: str
    """The GhostNet variant (``ghostnet``, ``ghostnet_050``, ...), lower-case."""
    checkpoint: Path
    """The weights: a ``.ckpt`` file, or a ``.onnx`` model file that the predictor runs as is."""
    sha256: str
    """Full hex SHA-256 of :attr:`checkpoint`."""
    record: Optional[PretrainedRecord]
    """The published weights' record of :attr:`arch`, if it has one (labels, preprocessing)."""

    @property
    def preprocessing(self) -> Preprocessing:
        """The eval transform of the architecture: the record's, else the default ImageNet
        one. A checkpoint trained at another size scales it (see :class:`ModelInterface`)."""
        return self.record.preprocessing if self.record is not None else DEFAULT_PREPROCESSING


@dataclass(frozen=True)
class ModelInterface:
    """What a loaded model needs at its input and gives at its output.

    Known only once the checkpoint is read (a fine-tuned one carries its own class names
    and image size), and cached beside ONNX exports so the fast path need not read it.
    """

    labels: List[str]
    """The name of each output."""
    preprocessing: Preprocessing
    """The eval transform the checkpoint expects."""


def resolve_model(model: str, arch: Optional[str] = None) -> ModelSpec:
    """Resolve a ``--model`` value (and ``--arch``) into a :class:`ModelSpec`.

    Raises:
        ModelSpecError: a checkpoint without ``--arch``, a missing checkpoint file, or
            ``--arch`` given with a hub name (the card names the architecture).
        GhostnetHubError: whatever the hub client raises for a name it cannot fetch.
    """
    if model.lower().endswith(CHECKPOINT_SUFFIX):
        return _from_checkpoint(model, arch)
    if model.lower().endswith(ONNX_SUFFIX):
        return _from_onnx(model, arch)
    if arch is not None:
        raise ModelSpecError(f"--arch {arch}: only a checkpoint file needs it; the card of "
                             f"{model!r} names its architecture")
    return _from_hub(model)


def _from_checkpoint(model: str, arch: Optional[str]) -> ModelSpec:
    path = Path(model).expanduser()
    if arch is None:
        raise ModelSpecError(f"{model}: a checkpoint file needs --arch NAME (for example "
                             "--arch ghostnet) to say which network it holds")
    if not path.is_file():
        raise ModelSpecError(f"{model}: checkpoint file not found")
    return ModelSpec(source=model, arch=arch.lower(), checkpoint=path.resolve(),
                     sha256=sha256_file(path), record=pretrained_record(arch))


def _from_onnx(model: str, arch: Optional[str]) -> ModelSpec:
    """An ONNX model file: its architecture and interface are stored inside it."""
    from .onnx_model import ort_session, read_interface  # pylint: disable=import-outside-toplevel
    path = Path(model).expanduser()
    if arch is not None:
        raise ModelSpecError(f"--arch {arch}: an ONNX model file names its architecture")
    if not path.is_file():
        raise ModelSpecError(f"{model}: ONNX model file not found")
    _, stored_arch = read_interface(ort_session(path, threads=1), model)
    return ModelSpec(source=model, arch=stored_arch, checkpoint=path.resolve(),
                     sha256=sha256_file(path), record=None)


def _from_hub(model: str) -> ModelSpec:
    fetched = fetch(model)
    arch = fetched.card.model_name.lower()
    return ModelSpec(source=model, arch=arch, checkpoint=Path(fetched.checkpoint),
                     sha256=fetched.sha256, record=pretrained_record(arch))


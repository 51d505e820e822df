"""What a checkpoint says about itself beyond its weights: class names and eval image size.

A checkpoint fine-tuned here carries two extra entries, so ``predict`` needs no side file:
- :data:`CLASS_NAMES_KEY`: its label list, as a JSON list of strings;
- :data:`IMAGE_SIZE_KEY`: the crop it was trained and evaluated at (``--image-size``), an
  int; the eval transform is the record's scaled to it (see
  :meth:`.pretrained.Preprocessing.at_size`).

MindSpore's ``save_checkpoint(..., append_dict=...)`` writes both; ``load_checkpoint`` gives
the string back as ``str`` and the int as a scalar Parameter. Restoring ignores them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

from .errors import CheckpointError

CLASS_NAMES_KEY = "class_names"
IMAGE_SIZE_KEY = "image_size"


@dataclass(frozen=True)
class CheckpointMeta:
    """The metadata entries of a checkpoint; None where the checkpoint has none."""

    class_names: Optional[List[str]] = None
    image_size: Optional[int] = None


def meta_entries(class_names: Optional[Sequence[str]] = None,
                 image_size: Optional[int] = None) -> Dict[str, Union[str, int]]:
    """The ``append_dict`` entries that store this metadata in a checkpoint."""
    entries: Dict[str, Union[str, int]] = {}
    if class_names is not None:
        entries[CLASS_NAMES_KEY] = json.dumps(list(class_names), ensure_ascii=False)
    if image_size is not None:
        entries[IMAGE_SIZE_KEY] = int(image_size)
    return entries


def read_meta(params: Mapping[str, object], source: str) -> CheckpointMeta:
    """The metadata in a checkpoint's contents (as ``read_checkpoint`` returns them).

    Raises:
        CheckpointError: an entry exists but is malformed; names the checkpoint and entry.
    """
    return CheckpointMeta(class_names=_class_names(params.get(CLASS_NAMES_KEY), source),
                          image_size=_image_size(params.get(IMAGE_SIZE_KEY), source))


def _class_names(raw: object, source: str) -> Optional[List[str]]:
    if raw is None:
        return None
    try:
        names = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: entry {CLASS_NAMES_KEY!r} is not a JSON list of strings")
    return names


def _image_size(raw: object, source: str) -> Optional[int]:
    if raw is None:
        return None
    try:
        size = int(raw.asnumpy()) if hasattr(raw, "asnumpy") else int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise CheckpointError(f"{source}: entry {IMAGE_SIZE_KEY!r} is not a positive int")
    return size

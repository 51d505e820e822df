"""Class names carried inside a checkpoint.

A checkpoint fine-tuned on other classes stores its label list under one extra entry,
:data:`CLASS_NAMES_KEY`, as a JSON list of strings, so ``predict`` can show the names
without a side file. MindSpore's ``save_checkpoint(..., append_dict=...)`` writes string
values and ``load_checkpoint`` returns them as ``str``; restoring ignores the entry.
"""
from __future__ import annotations

import json
from typing import Dict, List, Mapping, Optional, Sequence

from .errors import CheckpointError

CLASS_NAMES_KEY = "class_names"


def class_names_entry(names: Sequence[str]) -> Dict[str, str]:
    """The ``append_dict`` entry that stores ``names`` in a checkpoint."""
    return {CLASS_NAMES_KEY: json.dumps(list(names), ensure_ascii=False)}


def class_names_from_checkpoint(params: Mapping[str, object], source: str) -> Optional[List[str]]:
    """The class names stored in a checkpoint's contents, or None when it has none.

    Raises:
        CheckpointError: the entry exists but is not a JSON list of strings.
    """
    raw = params.get(CLASS_NAMES_KEY)
    if raw is None:
        return None
    try:
        names = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{source}: entry {CLASS_NAMES_KEY!r} is not a JSON list of strings")
    return names

"""What a card's text says about its checkpoint: classes and preprocessing.

``ghostnet publish`` writes them into the card body ("N classes; output index `i` is:" with
one line per class, and "resize the shorter side to R pixels ..., crop the central CxC
square"), so ``ghostnet info <uid>`` can describe a model before its checkpoint is
downloaded. A card without these lines (a hand-written one, the public hub's) records
nothing, and the figures of the architecture are shown instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

_CLASSES = re.compile(r"^(\d+) classes; output index `i` is:\s*$", re.MULTILINE)
_CLASS_LINE = re.compile(r"^- `(\d+)` (.*)$", re.MULTILINE)
_PREPROCESSING = re.compile(
    r"resize the shorter side to (\d+) pixels.*?crop the central "
    r"(\d+)x\d+ square",
    re.DOTALL,
)


@dataclass(frozen=True)
class CardFacts:
    """The classes and image sizes a card's text records; None where it records none."""

    num_classes: Optional[int] = None
    class_names: Optional[Tuple[str, ...]] = None
    resize: Optional[int] = None
    crop: Optional[int] = None


def card_facts(body: str) -> CardFacts:
    """The facts the card body ``body`` records (see the module docstring)."""
    num_classes = names = resize = crop = None
    found = _CLASSES.search(body)
    if found is not None:
        num_classes = int(found.group(1))
        lines = {
            int(m.group(1)): m.group(2).strip() for m in _CLASS_LINE.finditer(body, found.end())
        }
        if sorted(lines) == list(range(num_classes)):
            names = tuple(lines[index] for index in range(num_classes))
    sizes = _PREPROCESSING.search(body)
    if sizes is not None:
        resize, crop = int(sizes.group(1)), int(sizes.group(2))
    return CardFacts(num_classes, names, resize, crop)

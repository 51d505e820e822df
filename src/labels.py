"""The class names a model's outputs carry, for ``predict`` to print.

In order of precedence: the names stored inside the checkpoint (a model fine-tuned here
carries its own classes), then the label list of the published weights' record when the
class count matches (``imagenet1k`` for the 1000-class ImageNet model), then ``class N``.

The lists live in ``assets/<name>_labels.tsv`` (``index``, ``synset``, ``name``), found
relative to this package. A name is shown by its first lemma: ``"tabby, tabby cat"`` prints
as ``tabby``, which keeps the comma-separated top-k line readable.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from .errors import LabelsError
from .pretrained import PretrainedRecord

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
"""``assets/`` at the repository root, beside the package directory ``src/``."""


@lru_cache(maxsize=None)
def read_label_list(name: str) -> Tuple[Tuple[str, str], ...]:
    """``(synset, name)`` for each class of ``assets/<name>_labels.tsv``, by class index.

    Raises:
        LabelsError: the file is missing or its rows are not ``index, synset, name`` in order.
    """
    path = ASSETS_DIR / f"{name}_labels.tsv"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabelsError(f"{path}: cannot read the label list ({error.strerror})") from error
    rows = []
    for number, line in enumerate(lines[1:]):
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] != str(number):
            raise LabelsError(f"{path}: line {number + 2} is not '{number}<TAB>synset<TAB>name'")
        rows.append((fields[1], fields[2]))
    return tuple(rows)


def short_name(name: str) -> str:
    """The first lemma of a WordNet name list: ``"tabby, tabby cat"`` -> ``"tabby"``."""
    return name.split(",")[0].strip()


def labels_for(num_classes: int, *, checkpoint_names: Optional[Sequence[str]] = None,
               record: Optional[PretrainedRecord] = None, source: str = "<model>") -> List[str]:
    """The display label of each of the model's ``num_classes`` outputs.

    Raises:
        LabelsError: the checkpoint's own names do not number ``num_classes``.
    """
    if checkpoint_names is not None:
        if len(checkpoint_names) != num_classes:
            raise LabelsError(f"{source}: the checkpoint names {len(checkpoint_names)} classes "
                              f"but its classifier has {num_classes} outputs")
        return list(checkpoint_names)
    if record is not None and record.num_classes == num_classes:
        return [short_name(name) for _, name in read_label_list(record.labels)]
    return [f"class {index}" for index in range(num_classes)]

"""Generate ``imagenet1k_labels.tsv`` from the synset lists that timm ships.

Usage (the wheel is only read, never committed)::

    pip download --no-deps -d /tmp/timm timm==1.0.31
    python src/assets/make_imagenet1k_labels.py /tmp/timm/timm-1.0.31-py3-none-any.whl

The class index is the position of the synset id in sorted order, the order the model zoo's
ImageFolder training used (n01440764 = 0 ... n15075141 = 999). The script checks that timm's
list is exactly 1000 sorted, distinct ids before writing anything.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

SYNSETS = "timm/data/_info/imagenet_synsets.txt"
LEMMAS = "timm/data/_info/imagenet_synset_to_lemma.txt"
OUTPUT = Path(__file__).resolve().parent / "imagenet1k_labels.tsv"


def main(wheel: str) -> None:
    """Read the two lists from the timm wheel and write the TSV beside this script."""
    with zipfile.ZipFile(wheel) as archive:
        synsets = archive.read(SYNSETS).decode("utf-8").split()
        lemma_lines = archive.read(LEMMAS).decode("utf-8").splitlines()
    lemmas = dict(line.split("\t", 1) for line in lemma_lines if line.strip())
    if len(synsets) != 1000 or len(set(synsets)) != 1000 or synsets != sorted(synsets):
        raise SystemExit(f"{SYNSETS}: expected 1000 sorted distinct synset ids")
    rows = ["index\tsynset\tname"]
    for index, synset in enumerate(synsets):
        name = lemmas[synset].strip()
        if "\t" in name or not name:
            raise SystemExit(f"{synset}: unusable name {name!r}")
        rows.append(f"{index}\t{synset}\t{name}")
    OUTPUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(synsets)} classes)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])

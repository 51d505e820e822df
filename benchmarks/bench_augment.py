"""Held-out accuracy of the train augmentation's crop scale on small images, in one run.

``make demo``'s data and recipe (scikit-learn's 8x8 digits as PNG files, GhostNet 1.0x from
scratch at 32x32, 6 epochs, batch 32, lr 0.05, the same seeded split), fine-tuned once per
augmentation setting, then scored on the 359 held-out test images with ``ghostnet
predict``:

- no augmentation (``--no-augment``, what the demo trains with);
- the train augmentation (random resized crop, horizontal flip, colour jitter) with the
  crop's smallest area fraction at the model zoo's 0.08, at 0.25, and at 0.5, the default
  at 32 px (:func:`src.data.min_crop_scale`).

Each run takes about two minutes on 2 cores. Run from the repository root::

    nice .venv/bin/python benchmarks/bench_augment.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from src.cli import main as ghostnet  # noqa: E402
from src.demo import FINETUNE_OPTIONS, predict, write_digits  # noqa: E402
from src.finetune import BEST_CHECKPOINT  # noqa: E402

SETTINGS: Tuple[Tuple[str, List[str]], ...] = (
    ("no augmentation", ["--no-augment"]),
    ("crop from 0.08 of the area (model zoo)", ["--min-crop-scale", "0.08"]),
    ("crop from 0.25 of the area", ["--min-crop-scale", "0.25"]),
    ("crop from 0.5 of the area (default at 32 px)", []),
)


def main() -> None:
    """Train once per setting and print the markdown table."""
    recipe = [option for option in FINETUNE_OPTIONS if option != "--no-augment"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ghostnet-bench-augment-") as work:
        train_dir, test = write_digits(Path(work) / "digits")
        truth = {str(path): str(label) for path, label in test}
        for name, options in SETTINGS:
            run = Path(work) / f"run{len(rows)}"
            started = time.perf_counter()
            argv = ["finetune", "--data", str(train_dir), "--output", str(run), "--no-progress"]
            if ghostnet([*argv, *recipe, *options]) != 0:
                raise SystemExit(f"fine-tuning failed for {name}")
            seconds = time.perf_counter() - started
            labels = predict(str(run / BEST_CHECKPOINT), Path(work) / "digits" / "test")
            right = sum(labels.get(path) == label for path, label in truth.items())
            rows.append((name, right / len(truth), seconds))
    print(f"\n| train augmentation at 32 px | held-out top-1 ({len(truth)} images) | time |")
    print("| --- | --- | --- |")
    for name, accuracy, seconds in rows:
        print(f"| {name} | {accuracy:.3f} | {seconds:.0f} s |")


if __name__ == "__main__":
    main()

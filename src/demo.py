"""The round trip a user takes, on real data, offline: ``make demo`` (``python -m src.demo``).

1. scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes) are written as an
   image folder of PNG files, with a fixed train/test split recorded in ``split.json``;
2. GhostNet is fine-tuned on the train split with ``ghostnet finetune`` at 32x32;
3. the best checkpoint is published to a local index with ``ghostnet publish``;
4. the index and the asset are served by an HTTP server on 127.0.0.1;
5. the model is loaded by uid through the hub client (download, sha256 check, restore)
   into the user's hub cache, replacing an earlier demo's model there;
6. ``ghostnet predict --model <uid>`` classifies the held-out test images;
7. the held-out accuracy, a few predictions and the timings are printed.

The model stays where step 5 put it, in the user's hub cache (``MSHUB_CACHE_DIR``,
``~/.mscache`` by default) under the uid :data:`UID`: its card is cached and its checkpoint
verified, so ``ghostnet predict --model demo/1.0/ghostnet_digits IMAGE`` works afterwards
from any folder, without network. Each demo replaces it.

Nothing is mocked and nothing is downloaded from outside the machine. The exit status is 1
when the held-out accuracy is below :data:`REQUIRED_ACCURACY`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import shutil
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from . import hub
from .cache import get_hub_dir
from .cache_admin import EXPORTS_ENTRY, remove, scan_cache
from .cli import main as ghostnet
from .finetune import BEST_CHECKPOINT
from .settings import get_settings

REQUIRED_ACCURACY = 0.95
TEST_FRACTION = 0.2
SPLIT_SEED = 0
IMAGE_SIZE = 32
ARCH = "ghostnet"
FINETUNE_OPTIONS = [
    "--arch",
    ARCH,
    "--image-size",
    str(IMAGE_SIZE),
    "--epochs",
    "6",
    "--batch-size",
    "32",
    "--lr",
    "0.05",
    "--warmup-epochs",
    "0.5",
    "--val-split",
    "0.1",
    "--no-augment",
]
"""No augmentation: flips and 8%-area crops turn an 8x8 digit into another digit or noise."""
UID = "demo/1.0/ghostnet_digits"


def write_digits(root: Path) -> Tuple[Path, List[Tuple[Path, int]]]:
    """The digits as ``root/train/<digit>/*.png`` and ``root/test/<digit>/*.png``; returns
    the train folder's parent and the test samples. The split is per class, seeded, and
    written to ``root/split.json``."""
    from sklearn.datasets import load_digits  # the demo's data only; not a runtime need

    digits = load_digits()
    pixels = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    rng = np.random.default_rng(SPLIT_SEED)
    split: Dict[str, List[str]] = {"train": [], "test": []}
    test: List[Tuple[Path, int]] = []
    for label in range(10):
        members = np.flatnonzero(digits.target == label)
        held = set(rng.permutation(members)[: int(round(TEST_FRACTION * len(members)))].tolist())
        for index in members:
            part = "test" if index in held else "train"
            path = root / part / str(label) / f"digit_{index:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels[index], mode="L").save(path)
            split[part].append(str(path.relative_to(root)))
            if part == "test":
                test.append((path, label))
    (root / "split.json").write_text(
        json.dumps({"seed": SPLIT_SEED, "test_fraction": TEST_FRACTION, **split})
    )
    return root / "train", test


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """No access log on the demo's output."""


def serve(folder: Path) -> Tuple[ThreadingHTTPServer, str]:
    """A started loopback HTTP server for ``folder`` (a free port), and its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def predict(model: str, folder: Path) -> Dict[str, str]:
    """``ghostnet predict --model MODEL --json FOLDER`` (a uid or a checkpoint): the top-1
    label of every image, by path."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = ghostnet(
            [
                "predict",
                "--model",
                model,
                "--backend",
                "mindspore",
                "--topk",
                "1",
                "--batch-size",
                "64",
                "--json",
                str(folder),
            ]
        )
    if status != 0:
        raise SystemExit(f"ghostnet predict failed with status {status}")
    answers = [json.loads(line) for line in printed.getvalue().splitlines() if line.strip()]
    return {answer["image"]: answer["top"][0]["label"] for answer in answers}


def forget_previous_demo(root: Path) -> None:
    """Remove an earlier demo's model from the hub cache at ``root``: its card, checkpoint
    and ONNX export under :data:`UID` (their file names carry the checkpoint's hash, so a new
    run would otherwise add files beside them)."""
    folder = root / UID.rsplit("/", 1)[0]
    for entry in scan_cache(root):
        if entry.name == UID:
            remove(entry)
        elif entry.name == EXPORTS_ENTRY:
            for path in entry.files:
                if path.parent == folder:
                    path.unlink(missing_ok=True)


def run(workdir: Path) -> int:
    """The whole round trip in ``workdir``; 0 when the held-out accuracy is high enough."""
    timings: List[Tuple[str, float]] = []
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings.append((name, now - since))
        return now

    print(f"[1/7] writing the digits as PNG files under {workdir / 'digits'}", flush=True)
    train_dir, test = write_digits(workdir / "digits")
    test_dir = workdir / "digits" / "test"
    tick = lap("write data", started)

    print(f"[2/7] ghostnet finetune ({' '.join(FINETUNE_OPTIONS)})", flush=True)
    run_dir = workdir / "run"
    if (
        ghostnet(
            ["finetune", "--data", str(train_dir), "--output", str(run_dir), *FINETUNE_OPTIONS]
        )
        != 0
    ):
        return 1
    tick = lap("fine-tune", tick)

    index = workdir / "index"
    index.mkdir(parents=True, exist_ok=True)
    server, base_url = serve(index)
    try:
        print(f"[3/7] ghostnet publish to {index}", flush=True)
        user, version, card = UID.split("/")
        if (
            ghostnet(
                [
                    "publish",
                    str(run_dir / BEST_CHECKPOINT),
                    "--index",
                    str(index),
                    "--user",
                    user,
                    "--version",
                    version,
                    "--name",
                    ARCH,
                    "--dataset",
                    card.split("_", 1)[1],
                    "--local-dataset",
                    "--asset-base-url",
                    f"{base_url}/assets",
                ]
            )
            != 0
        ):
            return 1
        tick = lap("publish", tick)

        print(f"[4/7] serving {index} at {base_url}", flush=True)
        os.environ["MSHUB_INDEX"] = base_url
        get_settings.cache_clear()
        print(
            f"[5/7] hub.load({UID!r}): download into {get_hub_dir()}, verify sha256, restore",
            flush=True,
        )
        forget_previous_demo(get_hub_dir())
        fetched = hub.fetch(UID, quiet=True, force_reload=True)
        net = hub.load(UID, quiet=True)
        print(
            f"      {fetched.checkpoint} (sha256 {fetched.sha256[:16]}...), "
            f"{net.num_classes} classes"
        )
        tick = lap("load by uid over HTTP", tick)

        print(
            f"[6/7] ghostnet predict --model {UID} on {len(test)} held-out test images", flush=True
        )
        labels = predict(UID, test_dir)
        tick = lap("predict", tick)
    finally:
        server.shutdown()
        server.server_close()

    predicted = [labels.get(str(path), "?") for path, _ in test]
    truth = [str(label) for _, label in test]
    accuracy = float(np.mean([guess == true for guess, true in zip(predicted, truth)]))

    print("[7/7] results")
    for (path, _), guess, true in list(zip(test, predicted, truth))[:: len(test) // 8][:8]:
        print(
            f"      {path.name}: predicted {guess}, true {true}"
            f"{'' if guess == true else '  <- wrong'}"
        )
    for name, seconds in timings:
        print(f"      {name:<22} {seconds:7.1f} s")
    print(f"      {'total':<22} {time.perf_counter() - started:7.1f} s")
    print(
        f"held-out accuracy: {accuracy:.4f} on {len(test)} images (required >= {REQUIRED_ACCURACY})"
    )
    print(
        f"the model stays in the hub cache as {UID}; from any folder, offline:\n"
        f"  ghostnet predict --model {UID} IMAGE..."
    )
    return 0 if accuracy >= REQUIRED_ACCURACY else 1


DEFAULT_WORKDIR = Path("demo-output")
"""Where ``make demo`` leaves its model, so the quick start can predict with it afterwards."""
REWRITTEN = ("run", "index")
"""The workdir's folders each demo run starts afresh (the data is rewritten in place)."""


def main() -> int:
    """Parse ``--workdir`` (default: ``demo-output``) and run the demo in it."""
    parser = argparse.ArgumentParser(
        prog="python -m src.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where data, run and index go; its run/ and index/ are rewritten "
        "(default: %(default)s)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name in REWRITTEN:
        shutil.rmtree(args.workdir / name, ignore_errors=True)
    return run(args.workdir.resolve())


if __name__ == "__main__":
    sys.exit(main())

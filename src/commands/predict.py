"""``ghostnet predict [--model M] PATH...``: classify image files, one line per image.

Every input is processed even after one fails; a failed input prints one line on stderr
naming it (and, with ``--json``, an ``{"image", "error"}`` object on stdout, so the output
holds one object per input). A progress bar (stderr, a terminal only) appears for more than
a screenful of images. Heavy modules are imported inside :func:`run`, so ``ghostnet --help``
stays fast and the ONNX Runtime path with a cached export never imports MindSpore.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Dict, TextIO

from ..cache import get_hub_dir
from .options import ARCH_HELP, model_help, positive_int

if TYPE_CHECKING:
    from ..predictor import Prediction

DEFAULT_MODEL = "mindspore/1.5/ghostnet_imagenet2012"
"""A full uid: the default index (the public hub's tree) has no index.json for short uids."""
SCREENFUL = 40
"""More inputs than this get a progress bar."""

EPILOG = """\
examples:
  ghostnet predict cat.jpg
  ghostnet predict --topk 3 --json photos/
  ghostnet predict --model runs/flowers.ckpt --arch ghostnet --backend mindspore a.png b.png
  ghostnet predict --model mindspore/1.5/ghostnet_imagenet2012 --batch-size 32 photos/

output, one line per image:
  cat.jpg: tabby (0.6120), tiger cat (0.2051), Egyptian cat (0.1013), ...
with --json, one object per line:
  {"image": "cat.jpg", "top": [{"index": 281, "label": "tabby", "prob": 0.612}, ...]}
  {"image": "bad.jpg", "error": "corrupt or truncated image (...)"}

exit status: 0 when every image was classified, 1 when any failed (the rest are still
printed), 2 on usage errors (bad options, a checkpoint that records no architecture
and no --arch, an --arch the checkpoint contradicts).
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="classify images",
        description="Classify image files (directories are walked recursively) and print "
        "the top-k classes of each.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or directories")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"{model_help(onnx_files=True)} (default: {DEFAULT_MODEL})",
    )
    parser.add_argument("--arch", help=ARCH_HELP)
    parser.add_argument(
        "--topk", "--top-k", type=positive_int, default=5, help="classes per image (5)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="images per forward pass (16)"
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "mindspore", "onnxruntime"),
        default="auto",
        help="auto: onnxruntime when installed, else mindspore",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Classify every input; 0 when all succeeded, 1 when any failed, 2 on usage errors."""
    # pylint: disable=import-outside-toplevel
    from ..predictor import Predictor, choose_backend
    from ..transforms import collect_images
    from ..weights import resolve_weights

    spec = resolve_weights(args.model, args.arch)
    inputs = collect_images(args.paths)
    images = sum(1 for item in inputs if item.error is None)
    if images == 0:  # nothing to classify: report the inputs without loading the model
        for item in inputs:
            print(f"ghostnet predict: {item.path}: {item.error}", file=sys.stderr)
            if args.json:
                print(json.dumps({"image": item.path, "error": item.error}), flush=True)
        return 1
    predictor = Predictor(
        spec,
        backend=choose_backend(args.backend),
        batch_size=max(1, min(args.batch_size, images)),
        cache_dir=get_hub_dir(),
    )
    results = predictor.predict(inputs, args.topk)
    if len(inputs) > SCREENFUL:
        from ..progress import progress_bar

        results = progress_bar(iterable=results, total=len(inputs), unit="image")
    failed = 0
    for prediction in results:
        if prediction.error is not None:
            failed += 1
            print(f"ghostnet predict: {prediction.image}: {prediction.error}", file=sys.stderr)
        _print(prediction, args.json, sys.stdout)
    return 1 if failed else 0


def _print(prediction: "Prediction", as_json: bool, out: TextIO) -> None:
    if as_json:
        record: Dict[str, object]
        if prediction.error is not None:
            record = {"image": prediction.image, "error": prediction.error}
        else:
            record = {
                "image": prediction.image,
                "top": [
                    {"index": i, "label": label, "prob": prob} for i, label, prob in prediction.top
                ],
            }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif prediction.error is None:
        top = ", ".join(f"{label} ({prob:.4f})" for _, label, prob in prediction.top)
        out.write(f"{prediction.image}: {top}\n")
    out.flush()

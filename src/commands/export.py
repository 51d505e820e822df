"""``ghostnet export M --format mindir|onnx -o PATH``: write a restored network for serving.

The file takes a fixed input shape, ``(batch, 3, size, size)`` float32, already
preprocessed (see ``ghostnet info`` for the model's preprocessing). ONNX is MindSpore's
portable export; ``predict``'s own ONNX Runtime cache holds a machine-specific optimised copy.
An ONNX model file (``ghostnet quantize``'s int8 output) is already an export: ``--format
onnx`` copies it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import add_model_arguments, positive_int

EPILOG = """\
examples:
  ghostnet export mindspore/ghostnet --format mindir -o ghostnet.mindir
  ghostnet export runs/flowers.ckpt --arch ghostnet --format onnx -o flowers.onnx \\
      --batch-size 8 --image-size 224

load a MindIR with mindspore.load(PATH) and nn.GraphCell; run an ONNX file with ONNX Runtime.
exit status: 0 on success, 1 when the export failed, 2 on usage errors.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a model to MindIR or ONNX",
        description="Restore a model and export it with a fixed input shape.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser, onnx_files=False)
    parser.add_argument("--format", required=True, choices=("mindir", "onnx"))
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="file to write")
    parser.add_argument(
        "--batch-size", type=positive_int, default=1, help="batch dimension of the input (1)"
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        help="input height and width (default: the model's crop, 224)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export the model; 0 on success."""
    # pylint: disable=import-outside-toplevel
    from ..export import export_network
    from ..onnx_model import ONNX_SUFFIX
    from ..predictor import load_network
    from ..weights import resolve_weights

    spec = resolve_weights(args.model, args.arch)
    if spec.checkpoint.suffix.lower() == ONNX_SUFFIX:
        return _copy_onnx_model(spec.checkpoint, args)
    net, record = load_network(spec)
    size = args.image_size or record.preprocessing.crop
    path = export_network(
        net, args.output, args.format, batch_size=args.batch_size, image_size=size
    )
    print(f"{path}: {args.format} for input ({args.batch_size}, 3, {size}, {size}) float32")
    return 0


def _copy_onnx_model(model: Path, args: argparse.Namespace) -> int:
    """An ONNX model file (``ghostnet quantize``) is already an export: ``--format onnx``
    copies it (its batch axis stays free); MindIR cannot be made from it."""
    from ..atomic import copy_file  # pylint: disable=import-outside-toplevel

    if args.format != "onnx":
        print(
            f"ghostnet export: {model} is an ONNX model; it exports only as --format onnx "
            "(MindIR needs the checkpoint)",
            file=sys.stderr,
        )
        return 2
    copy_file(model, args.output)
    print(
        f"{args.output}: a copy of {model} (ONNX with a free batch axis and its record "
        "inside; --batch-size and --image-size do not apply)"
    )
    return 0

"""``ghostnet quantize MODEL --calibration FOLDER --eval FOLDER -o OUT``: int8 with a gate.

Prints the top-1 of fp32 and int8 on the held-out folder, their agreement, and the speed of
both at batch 1 and 16, measured in the same run. The int8 file is written only when its
top-1 drops by at most ``--max-drop`` points (or with ``--force``); the output is an ONNX
file that ``predict``, ``serve`` and ``--model`` in general accept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .options import add_model_arguments, positive_int

if TYPE_CHECKING:
    from ..quantize import QuantizeReport

EPILOG = """\
examples:
  ghostnet quantize runs/digits/best.ckpt --arch ghostnet --calibration digits/train \\
      --eval digits/test -o digits-int8.onnx
  ghostnet predict --model digits-int8.onnx digits/test/3

--eval holds one sub-folder per class, named as the model's classes. Calibration images are
any images under --calibration (at most --calibration-images of them, spread evenly).
exit status: 0 when the int8 model was written, 1 when it was refused or failed,
2 on usage errors.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``quantize`` subcommand."""
    parser = subparsers.add_parser(
        "quantize",
        help="post-training int8 quantization (ONNX Runtime)",
        description="Quantize a model to int8 ONNX, calibrated on a folder of images, and "
        "refuse it if it loses more than --max-drop top-1 points.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser, onnx_files=False)
    parser.add_argument(
        "--calibration",
        required=True,
        type=Path,
        metavar="FOLDER",
        help="images to calibrate activation ranges on",
    )
    parser.add_argument(
        "--eval",
        required=True,
        type=Path,
        metavar="FOLDER",
        dest="eval_dir",
        help="held-out images, one sub-folder per class",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help="the int8 .onnx file to write",
    )
    parser.add_argument(
        "--max-drop",
        type=float,
        default=1.0,
        metavar="POINTS",
        help="most top-1 points int8 may lose against fp32 (1.0)",
    )
    parser.add_argument(
        "--force", action="store_true", help="write the int8 model even when it loses more"
    )
    parser.add_argument(
        "--calibration-images",
        type=positive_int,
        default=256,
        metavar="N",
        help="most calibration images used (256)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Quantize, report, and write the model unless the gate refuses it."""
    # pylint: disable=import-outside-toplevel
    from ..onnx_model import ONNX_SUFFIX
    from ..predictor import load_network
    from ..quantize import quantize_network
    from ..weights import resolve_weights

    if args.output.suffix.lower() != ONNX_SUFFIX:
        print(
            f"ghostnet quantize: -o {args.output}: the int8 model is an ONNX file; name it "
            f"*{ONNX_SUFFIX}",
            file=sys.stderr,
        )
        return 2
    net, record = load_network(resolve_weights(args.model, args.arch))
    report = quantize_network(
        net,
        record,
        calibration=args.calibration,
        eval_folder=args.eval_dir,
        output=args.output,
        max_drop=args.max_drop,
        force=args.force,
        calibration_images=args.calibration_images,
    )
    print(describe(report))
    if report.output is None:
        print(
            f"ghostnet quantize: refused: int8 top-1 drops {report.drop:.2f} points, over "
            f"--max-drop {args.max_drop:g}; nothing written (--force writes it anyway)",
            file=sys.stderr,
        )
        return 1
    return 0


def describe(report: "QuantizeReport") -> str:
    """The report as a few aligned lines."""
    fp32_top1, int8_top1 = report.top1_fp32 * 100, report.top1_int8 * 100
    lines = [
        f"calibrated on {report.calibration_images} images; "
        f"evaluated on {report.eval_images} held-out images",
        f"top-1   fp32 {fp32_top1:6.2f} %   int8 {int8_top1:6.2f} %   "
        f"drop {report.drop:+.2f} points   agreement {report.agreement * 100:.2f} %",
        f"size    fp32 {report.fp32_bytes / 1e6:6.2f} MB   int8 {report.int8_bytes / 1e6:6.2f} MB",
    ]
    for fp32, int8 in zip(report.speed_fp32, report.speed_int8):
        lines.append(
            f"batch {fp32.batch:<2} fp32 {fp32.ms:7.2f} ms   int8 {int8.ms:7.2f} ms   "
            f"speed-up x{fp32.ms / int8.ms:.2f}"
        )
    if report.output is not None:
        lines.append(f"wrote {report.output}")
    return "\n".join(lines)

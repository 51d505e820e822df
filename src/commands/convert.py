"""``ghostnet convert SRC DST``: a mindcv, timm or model-zoo checkpoint in this module's names.

See :mod:`..convert`: the written ``.ckpt`` holds the model zoo's parameter names and the
``arch``, ``class_names`` and ``image_size`` entries, so ``predict`` and ``publish`` take it
as they take a checkpoint fine-tuned here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional

from .options import positive_int

EPILOG = """\
examples:
  ghostnet convert ghostnet_050-ae7771cb-910v2.ckpt ghostnet_050_imagenet.ckpt
  ghostnet convert model.safetensors ghostnet_100_timm.ckpt          # timm's ghostnet_100
  ghostnet convert ghostnet600M_pets.ckpt pets600.ckpt --arch ghostnet-600 \\
      --classes pets.txt --image-size 240
  ghostnet publish ghostnet_100_timm.ckpt --index hub-index --user me --version 1.0 \\
      --dataset imagenet --asset-base-url http://127.0.0.1:8000/assets

SRC families (detected from the tensor names): the model zoo's research/cv/ghostnet (GhostNet
1.0x and GhostNet-600), mindcv's ghostnet_050/100/130 (.ckpt), timm's ghostnet_050/100/130
(.safetensors). 1000-class checkpoints get the ImageNet-1k class names unless --classes says.
exit status: 0 on success, 1 when the checkpoint cannot be converted, 2 on usage errors.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``convert`` subcommand."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a mindcv, timm or model-zoo checkpoint to this module's names",
        description="Read a GhostNet checkpoint of another code base, rename its tensors into\n"
        "this module's (the model zoo's) names, check that it restores, and write\n"
        "it with the metadata predict and publish read.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", type=Path, metavar="SRC", help=".ckpt or .safetensors file")
    parser.add_argument("destination", type=Path, metavar="DST", help=".ckpt file to write")
    parser.add_argument("--arch", help="GhostNet variant (default: inferred from the shapes)")
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=224,
        help="crop the weights were trained at (224)",
    )
    parser.add_argument(
        "--classes", type=Path, metavar="FILE", help="class names, one per line, in output order"
    )
    parser.add_argument(
        "--show-names",
        action="store_true",
        help="also print every tensor's origin name and new name",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing DST")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert; 0 on success."""
    # pylint: disable=import-outside-toplevel  (MindSpore, only when the command runs)
    from ..convert import convert_checkpoint, describe

    result = convert_checkpoint(
        args.source,
        args.destination,
        arch=args.arch,
        image_size=args.image_size,
        class_names=_read_classes(args.classes),
        force=args.force,
    )
    print(describe(result, show_names=args.show_names))
    return 0


def _read_classes(path: Optional[Path]) -> Optional[List[str]]:
    if path is None:
        return None
    from ..errors import LabelsError  # pylint: disable=import-outside-toplevel

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise LabelsError(f"{path}: cannot read the class names ({error.strerror})") from error
    names = [line.strip() for line in lines if line.strip()]
    if not names:
        raise LabelsError(f"{path}: no class names in the file")
    return names

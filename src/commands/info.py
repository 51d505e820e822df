"""``ghostnet info M``: what a model is, what it costs, how to feed it, where it is cached."""
from __future__ import annotations

import argparse
import sys

from ..errors import ModelSpecError

MACS_IMAGE_SIZE = 224

EPILOG = """\
examples:
  ghostnet info mindspore/ghostnet
  ghostnet info runs/flowers.ckpt --arch ghostnet

prints the card's fields (hub models), the variant, parameter count, MACs at 224x224, the
input preprocessing, and the checkpoint in the cache with its sha256 and whether it is the
published file.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser(
        "info", help="describe a model", description="Describe a model and its cache state.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="M",
                        help="hub uid, card path or URL, or a .ckpt file with --arch")
    parser.add_argument("--arch", help="GhostNet variant of a .ckpt model (e.g. ghostnet)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the model's description; 0 on success."""
    # pylint: disable=import-outside-toplevel
    from ..complexity import count_macs, count_parameters
    from ..ghostnet import VARIANTS
    from ..model_spec import resolve_model
    from ..predictor import load_network

    try:
        spec = resolve_model(args.model, args.arch)
    except ModelSpecError as error:
        print(f"ghostnet info: error: {error}", file=sys.stderr)
        return 2
    net, labels = load_network(spec)
    prep = spec.preprocessing
    published = spec.record is not None and spec.record.sha256 == spec.sha256
    lines = [
        ("model", spec.source),
        ("variant", f"{spec.arch}: {VARIANTS[spec.arch].description}"),
        ("classes", f"{net.num_classes} ({', '.join(labels[:3])}, ...)"),
        ("parameters", f"{count_parameters(net):,}"),
        (f"MACs at {MACS_IMAGE_SIZE}", f"{count_macs(net, MACS_IMAGE_SIZE):,}"),
        ("preprocessing", f"resize {prep.resize} ({prep.interpolation}), center-crop "
                          f"{prep.crop}, mean {_triple(prep.mean)}, std {_triple(prep.std)} "
                          "(0-255 scale), CHW"),
        ("checkpoint", str(spec.checkpoint)),
        ("sha256", spec.sha256),
        ("published weights", "yes (sha256 matches the record)" if published else "no"),
    ]
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


def _triple(values: "tuple") -> str:
    return "(" + ", ".join(f"{value:.3f}" for value in values) + ")"

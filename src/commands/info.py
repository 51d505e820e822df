"""``ghostnet info M``: what a model is, what it costs, how to feed it, where it is cached."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, List, Optional, Tuple

from ..errors import ModelSpecError
from ..pretrained import DEFAULT_PREPROCESSING

if TYPE_CHECKING:
    from ..model_spec import ModelSpec

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
    # pylint: disable=import-outside-toplevel  (MindSpore-heavy; keeps `--help` fast)
    from ..model_spec import CHECKPOINT_SUFFIX, ModelSpec, resolve_model

    if args.model.lower().endswith(CHECKPOINT_SUFFIX):
        spec = resolve_model(args.model, args.arch)
        _print(_network_lines(spec) + _checkpoint_lines(spec))
        return 0
    if args.arch is not None:
        raise ModelSpecError(f"--arch {args.arch}: only a checkpoint file needs it")
    from ..hub import info
    from ..verified import recorded_sha256
    from ..pretrained import pretrained_record

    found = info(args.model)
    card = found.card
    arch = card.model_name.lower()
    lines = [("card", str(found.card_path)), ("model-name", card.model_name),
             ("model-version", card.model_version), ("user-id", card.user_id),
             ("train-dataset", card.train_dataset or "-"),
             ("evaluation", card.evaluation or "-"), ("summary", card.summary)]
    lines += [(f"asset ({asset.file_format})", f"{asset.link} sha256 {asset.sha256}")
              for asset in card.assets]
    state = "verified" if found.verified else ("cached, NOT verified" if found.cached
                                               else "not cached")
    lines.append(("cache", f"{found.checkpoint} ({state})"))
    spec = ModelSpec(source=args.model, arch=arch, checkpoint=found.checkpoint,
                     sha256=recorded_sha256(found.checkpoint) or "",
                     record=pretrained_record(arch))
    _print(lines + _network_lines(spec if found.verified else None, arch))
    return 0


def _network_lines(spec: "Optional[ModelSpec]", arch: str = "") -> List[Tuple[str, str]]:
    """Variant, classes, size and preprocessing: from the restored checkpoint when there is
    one, else from the architecture alone (1000 classes, as published)."""
    # pylint: disable=import-outside-toplevel
    from ..complexity import count_macs, count_parameters
    from ..factory import create_network
    from ..ghostnet import VARIANTS, variant_name
    from ..predictor import load_network

    if spec is not None:
        net, interface = load_network(spec)
        arch, prep = spec.arch, interface.preprocessing
        classes = f"{net.num_classes} ({', '.join(interface.labels[:3])}, ...)"
    else:
        net, prep = create_network(arch), DEFAULT_PREPROCESSING
        classes = f"{net.num_classes} (checkpoint not cached: figures for the architecture)"
    return [
        ("variant", f"{arch}: {VARIANTS[variant_name(arch)].description}"),
        ("classes", classes),
        ("parameters", f"{count_parameters(net):,}"),
        (f"MACs at {MACS_IMAGE_SIZE}", f"{count_macs(net, MACS_IMAGE_SIZE):,}"),
        ("preprocessing", f"resize {prep.resize} ({prep.interpolation}), center-crop "
                          f"{prep.crop}, mean {_triple(prep.mean)}, std {_triple(prep.std)} "
                          "(0-255 scale), CHW"),
    ]


def _checkpoint_lines(spec: "ModelSpec") -> List[Tuple[str, str]]:
    published = spec.record is not None and spec.record.sha256 == spec.sha256
    return [("checkpoint", str(spec.checkpoint)), ("sha256", spec.sha256),
            ("published weights", "yes (sha256 matches the record)" if published else "no")]


def _print(lines: List[Tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")


def _triple(values: "tuple") -> str:
    return "(" + ", ".join(f"{value:.3f}" for value in values) + ")"
